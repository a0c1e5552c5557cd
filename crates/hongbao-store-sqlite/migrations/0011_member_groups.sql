-- hongbao on SQLite, schema version 11: a user's groups found by the user, for the payee rating
-- of a payment (do payer and payee share a group?). The conventions of 0001_init.sql hold.
CREATE INDEX group_members_by_user ON group_members (user_id, group_id);
