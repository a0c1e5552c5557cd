-- hongbao on SQLite, schema version 9: forced transfers (划转) under four eyes. A proposal names
-- its freeze, the amount, where the money goes (`to_user`, NULL: out of the system), its
-- documents (the JSON text of the array of their ids) and its officers; it is updated once, when
-- approved, rejected or expired. The conventions of 0001_init.sql hold.
CREATE TABLE seizures (
    id          BLOB    NOT NULL PRIMARY KEY,
    freeze_id   BLOB    NOT NULL REFERENCES freezes (id) DEFERRABLE INITIALLY DEFERRED,
    user_id     BLOB    NOT NULL,
    amount      INTEGER NOT NULL CHECK (amount > 0),
    to_user     BLOB,
    reason      TEXT    NOT NULL,
    documents   TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    proposed_by BLOB    NOT NULL,
    proposed_at INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    decided_by  BLOB,
    decided_at  INTEGER,
    transfer_id BLOB,
    rejection   TEXT
) STRICT;

CREATE INDEX seizures_of_freeze ON seizures (freeze_id);
