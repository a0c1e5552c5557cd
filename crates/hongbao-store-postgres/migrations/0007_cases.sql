-- hongbao on PostgreSQL, schema version 7: reports and cases, as the SQLite store's migration 10
-- (each row keeps its entity whole as the JSON text of `body`; the partial unique indexes refuse
-- a second open report per reporter and subject, and a second open case of a kind per subject,
-- when two nodes race to file or open one).
CREATE TABLE reports (
    id       uuid NOT NULL PRIMARY KEY,
    subject  uuid NOT NULL,
    reporter uuid NOT NULL,
    status   text NOT NULL,
    body     text NOT NULL
);

CREATE INDEX reports_on_subject ON reports (subject, id);
CREATE UNIQUE INDEX reports_open_once ON reports (reporter, subject) WHERE status = 'open';

CREATE TABLE cases (
    id      uuid NOT NULL PRIMARY KEY,
    subject uuid NOT NULL,
    kind    text NOT NULL,
    status  text NOT NULL,
    body    text NOT NULL
);

CREATE INDEX cases_queue ON cases (status, kind, id);
CREATE UNIQUE INDEX cases_open_once ON cases (subject, kind) WHERE status = 'open';
