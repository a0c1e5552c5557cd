-- hongbao on SQLite, schema version 7: legal documents officers register for freezes, releases
-- and seizures to cite. A document is inserted once and only its `revealed_at` is ever updated;
-- `salt` is secret until then (the log holds only the commitment to it and `sha256`).
-- `evidence_id` names the scan when it was uploaded (no foreign key: evidence files are written
-- outside the batches). The conventions of 0001_init.sql hold.
CREATE TABLE documents (
    id            BLOB    NOT NULL PRIMARY KEY,
    kind          TEXT    NOT NULL,
    authority     TEXT    NOT NULL,
    reference     TEXT    NOT NULL,
    issued_at     INTEGER NOT NULL,
    sha256        BLOB    NOT NULL CHECK (length(sha256) = 32),
    evidence_id   BLOB,
    confidential  INTEGER NOT NULL CHECK (confidential IN (0, 1)),
    salt          BLOB    NOT NULL CHECK (length(salt) = 32),
    registered_by BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    revealed_at   INTEGER
) STRICT;
