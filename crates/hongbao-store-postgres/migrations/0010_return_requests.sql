-- hongbao on PostgreSQL, schema version 10: return requests, as the SQLite store's migration 13
-- (each row keeps its request whole as the JSON text of `body`; the partial unique index refuses
-- a second open request for one payment when two nodes race to open one).
CREATE TABLE return_requests (
    id       uuid NOT NULL PRIMARY KEY,
    target   uuid NOT NULL,
    payer    uuid NOT NULL,
    payee    uuid NOT NULL,
    mediator uuid,
    status   text NOT NULL,
    body     text NOT NULL
);

CREATE INDEX return_requests_of_target ON return_requests (target, id);
CREATE UNIQUE INDEX return_requests_open_once ON return_requests (target) WHERE status = 'open';
CREATE INDEX return_requests_of_payer ON return_requests (payer, id);
CREATE INDEX return_requests_of_payee ON return_requests (payee, id);
CREATE INDEX return_requests_of_mediator ON return_requests (mediator, id) WHERE mediator IS NOT NULL;
