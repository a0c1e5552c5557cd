-- hongbao on PostgreSQL, schema version 1: the same tables, with the same meaning, as the
-- SQLite store's migrations 1 to 4, plus `log_head`, the lock that orders appends to the log.
--
-- Conventions: ids are `uuid`, times are epoch milliseconds (`bigint`, except the nonces' Unix
-- seconds), money is fen (`bigint`), enums are the snake_case text of their `as_str()`. Enum
-- values are not listed in CHECK constraints: the store refuses unknown text when it reads a row,
-- and a new value then needs no migration.
--
-- Distribution: every per-packet table is keyed or indexed by packet id (`packets`, `claims`,
-- `log_entries_by_packet`) and every per-account table by account id (`accounts`, and
-- `transfers` by `debit` and by `credit`), so that a distributed engine (Citus) can later shard
-- them by those keys with the same shape.
--
-- Foreign keys are DEFERRABLE INITIALLY DEFERRED: a batch writes its rows in any order (an
-- escrow account and the transfer into it, a claim and its packet) and the references are
-- checked once, at COMMIT.
--
-- Several nodes write at once. What makes that safe is in the store's code, and relies on this
-- schema: primary and unique keys refuse a row two nodes both inserted; `log_head` is the one row
-- an appender locks; the partial indexes `packets_due` and `pendings_due` are what the jobs lock
-- their work through, with SKIP LOCKED.

CREATE TABLE users (
    id         uuid   PRIMARY KEY,
    name       text   NOT NULL,
    status     text   NOT NULL,
    created_at bigint NOT NULL
);

-- The running totals of an account (TigerBeetle style); the invariant check recomputes them
-- from the transfers.
CREATE TABLE accounts (
    id              uuid   PRIMARY KEY,
    kind            text   NOT NULL,
    debits_posted   bigint NOT NULL,
    credits_posted  bigint NOT NULL,
    debits_pending  bigint NOT NULL,
    credits_pending bigint NOT NULL,
    frozen          bigint NOT NULL
);

CREATE TABLE groups (
    id         uuid   PRIMARY KEY,
    name       text   NOT NULL,
    owner      uuid   NOT NULL,
    created_at bigint NOT NULL
);

CREATE TABLE group_members (
    group_id uuid NOT NULL REFERENCES groups (id) DEFERRABLE INITIALLY DEFERRED,
    user_id  uuid NOT NULL,
    PRIMARY KEY (group_id, user_id)
);

-- A packet's audience is a group or one recipient, never both. `shares` are the drawn shares in
-- fen, in claim order; written once and never changed. `salt` is a lucky packet's secret salt,
-- committed to when it is sent and revealed when it closes.
CREATE TABLE packets (
    id              uuid    PRIMARY KEY,
    kind            text    NOT NULL,
    sender          uuid    NOT NULL,
    group_id        uuid,
    recipient       uuid,
    total           bigint  NOT NULL,
    shares          bigint[] NOT NULL,
    greeting        text    NOT NULL,
    arrival_delay_s bigint  NOT NULL,
    created_at      bigint  NOT NULL,
    expires_at      bigint  NOT NULL,
    status          text    NOT NULL,
    claimed_count   bigint  NOT NULL,
    claimed_amount  bigint  NOT NULL,
    touched         boolean NOT NULL,
    salt            bytea   CHECK (salt IS NULL OR length(salt) = 32),
    CHECK ((group_id IS NULL) <> (recipient IS NULL))
);

-- The expiry job's work list, oldest first: only active packets are indexed, so it stays small.
CREATE INDEX packets_due ON packets (expires_at, id) WHERE status = 'active';

-- One share taken by one person. The unique constraints are the last line of defence for "no
-- person claims twice" and "no share is taken twice" (also between nodes); their indexes serve
-- the look-ups by (packet, user) and by packet.
CREATE TABLE claims (
    id          uuid   PRIMARY KEY,
    packet_id   uuid   NOT NULL REFERENCES packets (id) DEFERRABLE INITIALLY DEFERRED,
    user_id     uuid   NOT NULL,
    seq         bigint NOT NULL,
    amount      bigint NOT NULL,
    claimed_at  bigint NOT NULL,
    status      text   NOT NULL,
    arrives_at  bigint NOT NULL,
    transfer_id uuid   NOT NULL,
    UNIQUE (packet_id, user_id),
    UNIQUE (packet_id, seq)
);

-- Immutable ledger transfers. `phase` is posted, pending (with `deadline`), post_pending or
-- void_pending (with `pending_id`, the transfer they resolve).
CREATE TABLE transfers (
    id         uuid   PRIMARY KEY,
    debit      uuid   NOT NULL REFERENCES accounts (id) DEFERRABLE INITIALLY DEFERRED,
    credit     uuid   NOT NULL REFERENCES accounts (id) DEFERRABLE INITIALLY DEFERRED,
    amount     bigint NOT NULL,
    kind       text   NOT NULL,
    phase      text   NOT NULL,
    deadline   bigint,
    pending_id uuid,
    packet_id  uuid,
    claim_id   uuid,
    note       text,
    created_at bigint NOT NULL
);

-- A wallet's history, newest first, for either side of the transfer.
CREATE INDEX transfers_by_debit ON transfers (debit, id);
CREATE INDEX transfers_by_credit ON transfers (credit, id);

-- The fate of a pending transfer; the transfer itself is the row in `transfers`. `deadline`
-- repeats the transfer's so the settle job's index needs no join.
CREATE TABLE pendings (
    transfer_id uuid   PRIMARY KEY REFERENCES transfers (id) DEFERRABLE INITIALLY DEFERRED,
    deadline    bigint NOT NULL,
    status      text   NOT NULL,
    resolved_at bigint
);

CREATE INDEX pendings_due ON pendings (deadline, transfer_id) WHERE status = 'pending';

-- Append-only. Events are inserted while their batch holds the log's lock, so `seq` follows
-- the order in which batches commit, across nodes.
CREATE TABLE events (
    seq  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at   bigint NOT NULL,
    type text   NOT NULL,
    body jsonb  NOT NULL
);

CREATE TABLE idempotency (
    principal   text   NOT NULL,
    key         text   NOT NULL,
    fingerprint bytea  NOT NULL CHECK (length(fingerprint) = 32),
    outcome     text   NOT NULL,
    created_at  bigint NOT NULL,
    PRIMARY KEY (principal, key)
);

-- The purge job deletes the oldest records first.
CREATE INDEX idempotency_by_created_at ON idempotency (created_at);

-- Principals, the keys that sign requests: a user's key (`user_id`) or an operator's
-- (`operator_name`), never both. `roles` is the JSON array of the operator's role names as the
-- core ordered them (`[]` for a user's key). `secret` is stored as given, because the API
-- verifies each request's HMAC with it; nothing may ever print it. Rows are only inserted.
CREATE TABLE principals (
    key_id        uuid   PRIMARY KEY,
    secret        text   NOT NULL,
    user_id       uuid   REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED,
    operator_name text,
    roles         jsonb  NOT NULL CHECK (jsonb_typeof(roles) = 'array'),
    created_at    bigint NOT NULL,
    CHECK ((user_id IS NULL) <> (operator_name IS NULL)),
    CHECK (user_id IS NULL OR roles = '[]'::jsonb)
);

CREATE INDEX principals_by_user ON principals (user_id);

-- `has_operator` at start-up: operators are few, so a partial index answers at once.
CREATE INDEX principals_operators ON principals (operator_name) WHERE operator_name IS NOT NULL;
-- Several nodes starting together on an empty database each try to create the operator root:
-- exactly one may (the others' commits fail, they see root exists, and carry on).
CREATE UNIQUE INDEX principals_one_root ON principals (operator_name) WHERE operator_name = 'root';

-- The log's entries, append-only. `idx` is the entry's zero-based position: the log's size is
-- `max(idx) + 1`, read from the end of the primary key's index; the store checks on every append
-- that the new entries continue from there without a gap or a repeat. `entry` is the exact
-- bytes the leaf hash is computed from. `transfer_id` and `packet_id` repeat what the entry
-- names, for receipts and fairness proofs.
CREATE TABLE log_entries (
    idx         bigint PRIMARY KEY CHECK (idx >= 0),
    entry       bytea  NOT NULL,
    transfer_id uuid,
    packet_id   uuid
);

CREATE UNIQUE INDEX log_entries_by_transfer ON log_entries (transfer_id) WHERE transfer_id IS NOT NULL;
CREATE INDEX log_entries_by_packet ON log_entries (packet_id, idx) WHERE packet_id IS NOT NULL;

-- Signed checkpoints, one per size; `note` is the signed note exactly as signed.
CREATE TABLE checkpoints (
    size       bigint PRIMARY KEY CHECK (size >= 0),
    note       text   NOT NULL,
    created_at bigint NOT NULL
);

-- One row, never changed: a batch that appends to the log (or writes events or a checkpoint)
-- locks it first (`SELECT … FOR UPDATE`) and holds it until it commits, so appends from several
-- nodes happen one after the other, each from the size the previous one left.
CREATE TABLE log_head (
    id integer PRIMARY KEY CHECK (id = 1)
);

INSERT INTO log_head (id) VALUES (1);

-- The request nonces seen recently, per signing key: a nonce whose record lives is a replay.
-- `digest` is the 16-byte digest of the nonce, `expires_at` when the record may be forgotten
-- (Unix seconds, the unit of the signed timestamp).
CREATE TABLE nonces (
    key_id     uuid   NOT NULL,
    digest     bytea  NOT NULL CHECK (length(digest) = 16),
    expires_at bigint NOT NULL,
    PRIMARY KEY (key_id, digest)
);

CREATE INDEX nonces_by_expiry ON nonces (expires_at);

-- One row: how far the development clock runs ahead of real time, the same on every node. It
-- only grows.
CREATE TABLE dev_clock (
    id        integer PRIMARY KEY CHECK (id = 1),
    offset_ms bigint  NOT NULL CHECK (offset_ms >= 0)
);

INSERT INTO dev_clock (id, offset_ms) VALUES (1, 0);

-- At most one row: the log's verifier key (`name+keyid+base64`), stored by the first node that
-- starts with the log enabled, so that every node can check it signs with the same key.
CREATE TABLE log_key (
    id       integer PRIMARY KEY CHECK (id = 1),
    verifier text    NOT NULL
);

-- The one account through which money enters and leaves (AccountId::EXTERNAL, the nil UUID).
INSERT INTO accounts (id, kind, debits_posted, credits_posted, debits_pending, credits_pending, frozen)
VALUES ('00000000-0000-0000-0000-000000000000', 'external', 0, 0, 0, 0, 0);
