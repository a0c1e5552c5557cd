-- hongbao on SQLite, schema version 12: what risk control remembers of a user's logins (the
-- regions seen lately, the latest login from a new region), as the JSON text of
-- `hongbao_core::signal::Logins`; NULL for a user no signal was sent about. The conventions of
-- 0001_init.sql hold.
ALTER TABLE users ADD COLUMN logins TEXT;
