-- hongbao on PostgreSQL, schema version 2: the table of due work, as the SQLite store's migration
-- 5. Whatever falls due by itself (an active packet's expiry, a pending transfer's arrival, and
-- later kinds) is one row, written in the same transaction as the entity that implies it; the
-- jobs take the oldest due rows. `kind` is the stored name of a `DueKind` (`packet_expiry`,
-- `pending_arrival`), `id` the entity's id, `due_at` epoch milliseconds.
--
-- Several nodes run the jobs: each takes its rows with a transaction-scoped advisory try-lock
-- per row (see the store's `deadlines` module), not a row lock, so that a batch taking a row off
-- the schedule never waits for a job, and a job never waits for another node's job.
CREATE TABLE deadlines (
    kind   text   NOT NULL,
    id     uuid   NOT NULL,
    due_at bigint NOT NULL,
    PRIMARY KEY (kind, id)
);

CREATE INDEX deadlines_by_time ON deadlines (due_at, kind, id);

-- What a store of schema 1 had due, found until now through the partial indexes dropped below.
INSERT INTO deadlines (kind, id, due_at)
    SELECT 'packet_expiry', id, expires_at FROM packets WHERE status = 'active';
INSERT INTO deadlines (kind, id, due_at)
    SELECT 'pending_arrival', transfer_id, deadline FROM pendings WHERE status = 'pending';

DROP INDEX packets_due;
DROP INDEX pendings_due;
