-- hongbao on SQLite, schema version 4: the state a node would otherwise keep in memory, kept in
-- the database so that it outlives the process (and, on a shared backend, is the same on every
-- node). The conventions of 0001_init.sql hold: ids are 16-byte BLOBs, tables are STRICT.

-- The request nonces seen recently, per signing key: a nonce whose record lives is a replay.
-- `digest` is the 16-byte digest of the nonce, `expires_at` when the record may be forgotten
-- (Unix seconds, the unit of the signed timestamp).
CREATE TABLE nonces (
    key_id     BLOB    NOT NULL,
    digest     BLOB    NOT NULL CHECK (length(digest) = 16),
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (key_id, digest)
) STRICT, WITHOUT ROWID;

-- The purge deletes the records that expired first.
CREATE INDEX nonces_by_expiry ON nonces (expires_at);

-- One row: how far the development clock runs ahead of real time. It only grows.
CREATE TABLE dev_clock (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    offset_ms INTEGER NOT NULL CHECK (offset_ms >= 0)
) STRICT;

INSERT INTO dev_clock (id, offset_ms) VALUES (1, 0);

-- At most one row: the transparency log's verifier key (`name+keyid+base64`), stored by the
-- first node that starts with the log enabled, so that every later start can check it signs
-- with the same key.
CREATE TABLE log_key (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    verifier TEXT    NOT NULL
) STRICT;
