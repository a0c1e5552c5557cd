-- hongbao on SQLite, schema version 2: principals, the keys that sign requests.
--
-- The conventions of 0001_init.sql hold: ids are 16-byte BLOBs, times epoch milliseconds,
-- enum texts are not listed in CHECKs, and references are checked at COMMIT.
--
-- A principal is a user's key (`user_id`) or an operator's (`operator_name`), never both.
-- `roles` is the JSON array of the operator's role names, as the core ordered them (`[]` for
-- a user's key: users act for themselves only). `secret` is stored as given, because the API
-- verifies each request's HMAC signature with it; nothing may ever print it.
--
-- Rows are only inserted: a key is created, not edited.
CREATE TABLE principals (
    key_id        BLOB    NOT NULL PRIMARY KEY,
    secret        TEXT    NOT NULL,
    user_id       BLOB    REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED,
    operator_name TEXT,
    roles         TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    CHECK ((user_id IS NULL) <> (operator_name IS NULL)),
    CHECK (user_id IS NULL OR roles = '[]')
) STRICT, WITHOUT ROWID;

-- A user's keys; also what the foreign key needs to check a user's deletion without a scan.
CREATE INDEX principals_by_user ON principals (user_id);

-- `has_operator` at start-up asks whether any operator key exists: operators are few, so a
-- partial index answers at once however many users there are.
CREATE INDEX principals_operators ON principals (operator_name) WHERE operator_name IS NOT NULL;
