-- hongbao on SQLite, schema version 13: return requests (协商退还). Each row keeps its request
-- whole as the JSON text of `body` (its notes are a list that grows); the other columns only
-- index it and are written with it. At most one open request per payment (`target`, a transfer's
-- or a claim's id), as the core decides: the partial unique index refuses a second. The
-- conventions of 0001_init.sql hold.
CREATE TABLE return_requests (
    id       BLOB NOT NULL PRIMARY KEY,
    target   BLOB NOT NULL,
    payer    BLOB NOT NULL,
    payee    BLOB NOT NULL,
    mediator BLOB,
    status   TEXT NOT NULL,
    body     TEXT NOT NULL
) STRICT;

CREATE INDEX return_requests_of_target ON return_requests (target, id);
CREATE UNIQUE INDEX return_requests_open_once ON return_requests (target) WHERE status = 'open';
CREATE INDEX return_requests_of_payer ON return_requests (payer, id);
CREATE INDEX return_requests_of_payee ON return_requests (payee, id);
CREATE INDEX return_requests_of_mediator ON return_requests (mediator, id) WHERE mediator IS NOT NULL;
