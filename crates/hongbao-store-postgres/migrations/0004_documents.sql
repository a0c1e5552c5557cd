-- hongbao on PostgreSQL, schema version 4: legal documents, as the SQLite store's migration 7.
-- A document is inserted once and only its `revealed_at` is ever updated; `salt` is secret until
-- then. `evidence_id` names the scan when it was uploaded (no foreign key: evidence files are
-- written outside the batches).
CREATE TABLE documents (
    id            uuid    NOT NULL PRIMARY KEY,
    kind          text    NOT NULL,
    authority     text    NOT NULL,
    reference     text    NOT NULL,
    issued_at     bigint  NOT NULL,
    sha256        bytea   NOT NULL CHECK (length(sha256) = 32),
    evidence_id   uuid,
    confidential  boolean NOT NULL,
    salt          bytea   NOT NULL CHECK (length(salt) = 32),
    registered_by uuid    NOT NULL,
    created_at    bigint  NOT NULL,
    revealed_at   bigint
);
