-- hongbao on PostgreSQL, schema version 3: evidence files, as the SQLite store's migration 6. A
-- file is written once, outside any batch, and never changed or deleted; `sha256` is of `bytes`
-- (the store checks it when it reads the row). One uploader's same bytes with the same content
-- type are one file.
CREATE TABLE evidence (
    id           uuid        NOT NULL PRIMARY KEY,
    uploader     uuid        NOT NULL,
    content_type text        NOT NULL,
    sha256       bytea       NOT NULL,
    bytes        bytea       NOT NULL,
    created_at   bigint      NOT NULL,
    UNIQUE (uploader, sha256, content_type)
);
