-- hongbao on SQLite, schema version 5: the table of due work. Whatever falls due by itself (an
-- active packet's expiry, a pending transfer's arrival, and later kinds) is one row, written in
-- the same transaction as the entity that implies it; the jobs take the oldest due rows. `kind`
-- is the stored name of a `DueKind` (`packet_expiry`, `pending_arrival`), `id` the entity's id,
-- `due_at` epoch milliseconds. The conventions of 0001_init.sql hold.
CREATE TABLE deadlines (
    kind   TEXT    NOT NULL,
    id     BLOB    NOT NULL,
    due_at INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
) STRICT, WITHOUT ROWID;

-- The jobs read the oldest due rows; the index covers the query.
CREATE INDEX deadlines_by_time ON deadlines (due_at, kind, id);

-- What a store of schema 4 had due, found until now through the partial indexes dropped below.
INSERT INTO deadlines (kind, id, due_at)
    SELECT 'packet_expiry', id, expires_at FROM packets WHERE status = 'active';
INSERT INTO deadlines (kind, id, due_at)
    SELECT 'pending_arrival', transfer_id, deadline FROM pendings WHERE status = 'pending';

DROP INDEX packets_due;
DROP INDEX pendings_due;
