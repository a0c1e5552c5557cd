-- hongbao on SQLite, schema version 3: the transparency log and provably fair lucky packets.
--
-- The conventions of 0001_init.sql hold: ids are 16-byte BLOBs, times epoch milliseconds,
-- tables are STRICT.
--
-- A lucky packet's secret salt (32 bytes), committed to when it is sent and revealed when it
-- closes; NULL for the other kinds and for packets sent before this version.
ALTER TABLE packets ADD COLUMN salt BLOB CHECK (salt IS NULL OR length(salt) = 32);

-- The log's entries, append-only. `idx` is the entry's zero-based position and the rowid, so
-- the log's size is `max(idx) + 1`, read from the end of the table's b-tree without a scan; the
-- store checks on every append that the new entries continue from there without a gap or a
-- repeat. `entry` is the exact bytes the leaf hash is computed from: never re-encoded.
-- `transfer_id` and `packet_id` repeat what the entry names, for receipts and fairness proofs.
-- They are not foreign keys: the engine derives them from the same record as the entry, and a
-- parent lookup per appended entry would cost more than it protects.
CREATE TABLE log_entries (
    idx         INTEGER PRIMARY KEY CHECK (idx >= 0),
    entry       BLOB    NOT NULL,
    transfer_id BLOB,
    packet_id   BLOB
) STRICT;

-- A receipt finds the entry of its transfer; a transfer is recorded once. Partial: most entries
-- are events, which name no transfer.
CREATE UNIQUE INDEX log_entries_by_transfer ON log_entries (transfer_id) WHERE transfer_id IS NOT NULL;

-- A fairness proof reads a packet's entries in log order.
CREATE INDEX log_entries_by_packet ON log_entries (packet_id, idx) WHERE packet_id IS NOT NULL;

-- Signed checkpoints, one per size; `note` is the signed note exactly as signed. The store
-- only accepts a checkpoint larger than every stored one and no larger than the log.
CREATE TABLE checkpoints (
    size       INTEGER PRIMARY KEY CHECK (size >= 0),
    note       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
