-- hongbao on PostgreSQL, schema version 5: freezes, as the SQLite store's migration 8. A wallet
-- says whether one of its freezes is short of what it would hold (`holding`), and each freeze is
-- a row with its place in its wallet's order (`seq`, unique per user), its target (`amount`,
-- NULL for the whole wallet), what it holds, its documents (the JSON text of the array of their
-- ids) and the tally of every fen it ever held.
ALTER TABLE accounts ADD COLUMN holding boolean NOT NULL DEFAULT false;

CREATE TABLE freezes (
    id          uuid    NOT NULL PRIMARY KEY,
    user_id     uuid    NOT NULL REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED,
    seq         bigint  NOT NULL CHECK (seq >= 0),
    kind        text    NOT NULL,
    amount      bigint  CHECK (amount > 0),
    held        bigint  NOT NULL CHECK (held >= 0),
    status      text    NOT NULL,
    documents   text    NOT NULL,
    reason      text    NOT NULL,
    major_case  boolean NOT NULL,
    created_by  uuid,
    created_at  bigint  NOT NULL,
    expires_at  bigint,
    renewals    bigint  NOT NULL CHECK (renewals >= 0),
    ended_at    bigint,
    ever_held   bigint  NOT NULL,
    released    bigint  NOT NULL,
    expired     bigint  NOT NULL,
    seized      bigint  NOT NULL,
    converted   bigint  NOT NULL,
    UNIQUE (user_id, seq)
);
