-- hongbao on PostgreSQL, schema version 9: a user's logins, as the SQLite store's migration 12.
ALTER TABLE users ADD COLUMN logins text;
