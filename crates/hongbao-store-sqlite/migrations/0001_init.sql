-- hongbao on SQLite, schema version 1.
--
-- Conventions: ids are the 16 bytes of their UUID (BLOB), times are epoch milliseconds
-- (INTEGER), money is fen (INTEGER), enums are the snake_case text of their `as_str()`.
-- Tables are STRICT so a value of the wrong type is refused instead of silently stored.
-- Enum values are deliberately not listed in CHECK constraints: SQLite cannot alter a CHECK
-- without rebuilding the table, and the store refuses unknown text when it reads a row.
--
-- Every per-packet table is keyed or indexed by packet id and every per-account table by
-- account id, so a distributed PostgreSQL backend can shard by those keys with the same shape.
--
-- Foreign keys are DEFERRABLE INITIALLY DEFERRED: a batch writes its rows in any order (an
-- escrow account and the transfer into it, a claim and its packet) and the references are
-- checked once, at COMMIT. They only name a row's owner, so they cost one primary-key lookup.

CREATE TABLE users (
    id         BLOB    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- The running totals of an account (TigerBeetle style); the invariant check recomputes them
-- from the transfers.
CREATE TABLE accounts (
    id              BLOB    NOT NULL PRIMARY KEY,
    kind            TEXT    NOT NULL,
    debits_posted   INTEGER NOT NULL,
    credits_posted  INTEGER NOT NULL,
    debits_pending  INTEGER NOT NULL,
    credits_pending INTEGER NOT NULL,
    frozen          INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE groups (
    id         BLOB    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    owner      BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE group_members (
    group_id BLOB NOT NULL REFERENCES groups (id) DEFERRABLE INITIALLY DEFERRED,
    user_id  BLOB NOT NULL,
    PRIMARY KEY (group_id, user_id)
) STRICT, WITHOUT ROWID;

-- A packet's audience is a group or one recipient, never both. `shares` is the JSON array of
-- the drawn shares in fen, in claim order; it is written once and never changes.
CREATE TABLE packets (
    id              BLOB    NOT NULL PRIMARY KEY,
    kind            TEXT    NOT NULL,
    sender          BLOB    NOT NULL,
    group_id        BLOB,
    recipient       BLOB,
    total           INTEGER NOT NULL,
    shares          TEXT    NOT NULL,
    greeting        TEXT    NOT NULL,
    arrival_delay_s INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    status          TEXT    NOT NULL,
    claimed_count   INTEGER NOT NULL,
    claimed_amount  INTEGER NOT NULL,
    touched         INTEGER NOT NULL CHECK (touched IN (0, 1)),
    CHECK ((group_id IS NULL) <> (recipient IS NULL))
) STRICT;

-- The expiry job's work list, oldest first: only active packets are indexed, so it stays small.
CREATE INDEX packets_due ON packets (expires_at, id) WHERE status = 'active';

-- One share taken by one person. The unique constraints are the last line of defence for
-- "no person claims twice" and "no share is taken twice"; their indexes also serve the
-- look-ups by (packet, user) and by packet.
CREATE TABLE claims (
    id          BLOB    NOT NULL PRIMARY KEY,
    packet_id   BLOB    NOT NULL REFERENCES packets (id) DEFERRABLE INITIALLY DEFERRED,
    user_id     BLOB    NOT NULL,
    seq         INTEGER NOT NULL,
    amount      INTEGER NOT NULL,
    claimed_at  INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    arrives_at  INTEGER NOT NULL,
    transfer_id BLOB    NOT NULL,
    UNIQUE (packet_id, user_id),
    UNIQUE (packet_id, seq)
) STRICT, WITHOUT ROWID;

-- Immutable ledger transfers. `phase` is posted, pending (with `deadline`), post_pending or
-- void_pending (with `pending_id`, the transfer they resolve).
CREATE TABLE transfers (
    id         BLOB    NOT NULL PRIMARY KEY,
    debit      BLOB    NOT NULL REFERENCES accounts (id) DEFERRABLE INITIALLY DEFERRED,
    credit     BLOB    NOT NULL REFERENCES accounts (id) DEFERRABLE INITIALLY DEFERRED,
    amount     INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    phase      TEXT    NOT NULL,
    deadline   INTEGER,
    pending_id BLOB,
    packet_id  BLOB,
    claim_id   BLOB,
    note       TEXT,
    created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- A wallet's history, newest first, for either side of the transfer.
CREATE INDEX transfers_by_debit ON transfers (debit, id);
CREATE INDEX transfers_by_credit ON transfers (credit, id);

-- The fate of a pending transfer; the transfer itself is the row in `transfers`. `deadline`
-- repeats the transfer's so the settle job's index needs no join.
CREATE TABLE pendings (
    transfer_id BLOB    NOT NULL PRIMARY KEY REFERENCES transfers (id) DEFERRABLE INITIALLY DEFERRED,
    deadline    INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    resolved_at INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX pendings_due ON pendings (deadline) WHERE status = 'pending';

-- Append-only; `seq` is never reused (AUTOINCREMENT), so a later log can refer to it.
CREATE TABLE events (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    at   INTEGER NOT NULL,
    type TEXT    NOT NULL,
    body TEXT    NOT NULL
) STRICT;

CREATE TABLE idempotency (
    principal   TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint BLOB    NOT NULL,
    outcome     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (principal, key)
) STRICT;

-- The purge job deletes the oldest records first.
CREATE INDEX idempotency_by_created_at ON idempotency (created_at);

-- The one account through which money enters and leaves (AccountId::EXTERNAL, the nil UUID).
INSERT INTO accounts (id, kind, debits_posted, credits_posted, debits_pending, credits_pending, frozen)
VALUES (X'00000000000000000000000000000000', 'external', 0, 0, 0, 0, 0);
