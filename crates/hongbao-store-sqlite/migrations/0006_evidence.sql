-- hongbao on SQLite, schema version 6: evidence files. A file is written once, outside any
-- batch, and never changed or deleted; `sha256` is of `bytes` (the store checks it when it reads
-- the row). One uploader's same bytes with the same content type are one file. The conventions
-- of 0001_init.sql hold.
CREATE TABLE evidence (
    id           BLOB    NOT NULL PRIMARY KEY,
    uploader     BLOB    NOT NULL,
    content_type TEXT    NOT NULL,
    sha256       BLOB    NOT NULL,
    bytes        BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (uploader, sha256, content_type)
) STRICT;
