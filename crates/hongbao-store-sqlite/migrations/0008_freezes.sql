-- hongbao on SQLite, schema version 8: freezes. A wallet now says whether one of its freezes is
-- short of what it would hold (`holding`: then whatever becomes available is held, see the
-- core's `freeze`), and each freeze is a row: its place in its wallet's order (`seq`, unique per
-- user), its target (`amount`, NULL for the whole wallet), what it holds, its documents (the JSON
-- text of the array of their ids) and the tally of every fen it ever held. The conventions of
-- 0001_init.sql hold.
ALTER TABLE accounts ADD COLUMN holding INTEGER NOT NULL DEFAULT 0 CHECK (holding IN (0, 1));

CREATE TABLE freezes (
    id          BLOB    NOT NULL PRIMARY KEY,
    user_id     BLOB    NOT NULL REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED,
    seq         INTEGER NOT NULL CHECK (seq >= 0),
    kind        TEXT    NOT NULL,
    amount      INTEGER CHECK (amount > 0),
    held        INTEGER NOT NULL CHECK (held >= 0),
    status      TEXT    NOT NULL,
    documents   TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    major_case  INTEGER NOT NULL CHECK (major_case IN (0, 1)),
    created_by  BLOB,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    renewals    INTEGER NOT NULL CHECK (renewals >= 0),
    ended_at    INTEGER,
    ever_held   INTEGER NOT NULL,
    released    INTEGER NOT NULL,
    expired     INTEGER NOT NULL,
    seized      INTEGER NOT NULL,
    converted   INTEGER NOT NULL,
    UNIQUE (user_id, seq)
) STRICT;
