-- hongbao on SQLite, schema version 10: users' fraud reports (举报) and the cases officers work
-- on. Each row keeps its entity whole as the JSON text of `body` (a case's items and timeline
-- are lists that grow); the other columns only index it and are written with it. At most one
-- open report per reporter and subject, and one open case of a kind per subject, as the core
-- decides: the partial unique indexes refuse a second. The conventions of 0001_init.sql hold.
CREATE TABLE reports (
    id       BLOB NOT NULL PRIMARY KEY,
    subject  BLOB NOT NULL,
    reporter BLOB NOT NULL,
    status   TEXT NOT NULL,
    body     TEXT NOT NULL
) STRICT;

CREATE INDEX reports_on_subject ON reports (subject, id);
CREATE UNIQUE INDEX reports_open_once ON reports (reporter, subject) WHERE status = 'open';

CREATE TABLE cases (
    id      BLOB NOT NULL PRIMARY KEY,
    subject BLOB NOT NULL,
    kind    TEXT NOT NULL,
    status  TEXT NOT NULL,
    body    TEXT NOT NULL
) STRICT;

CREATE INDEX cases_queue ON cases (status, kind, id);
CREATE UNIQUE INDEX cases_open_once ON cases (subject, kind) WHERE status = 'open';
