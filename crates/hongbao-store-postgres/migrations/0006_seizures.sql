-- hongbao on PostgreSQL, schema version 6: forced transfers under four eyes, as the SQLite
-- store's migration 9.
CREATE TABLE seizures (
    id          uuid   NOT NULL PRIMARY KEY,
    freeze_id   uuid   NOT NULL REFERENCES freezes (id) DEFERRABLE INITIALLY DEFERRED,
    user_id     uuid   NOT NULL,
    amount      bigint NOT NULL CHECK (amount > 0),
    to_user     uuid,
    reason      text   NOT NULL,
    documents   text   NOT NULL,
    status      text   NOT NULL,
    proposed_by uuid   NOT NULL,
    proposed_at bigint NOT NULL,
    expires_at  bigint NOT NULL,
    decided_by  uuid,
    decided_at  bigint,
    transfer_id uuid,
    rejection   text
);

CREATE INDEX seizures_of_freeze ON seizures (freeze_id);
