-- hongbao on PostgreSQL, schema version 8: a user's groups found by the user, as the SQLite
-- store's migration 11.
CREATE INDEX group_members_by_user ON group_members (user_id, group_id);
