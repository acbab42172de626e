-- The hospital's store on PostgreSQL: the same tables as the embedded SQLite store
-- (hospital_adapter/store/sqlite.py), in PostgreSQL's types. Dates and times are ISO 8601
-- text, as in SQLite, so that one set of queries serves both; numbers of one department and
-- day are unique by constraint, not only by the counter.

CREATE TABLE tickets (
    department text NOT NULL,
    service_date text NOT NULL,
    last integer NOT NULL,
    PRIMARY KEY (department, service_date)
);

CREATE TABLE checkins (
    id text PRIMARY KEY,
    service_date text NOT NULL,
    department text NOT NULL,
    ticket integer NOT NULL,
    arrived_at text NOT NULL,
    visit_kind text NOT NULL,
    insurance_status text NOT NULL,
    insurance_code text NOT NULL,
    subject text NOT NULL,
    personal bytea NOT NULL,
    prioritized integer NOT NULL DEFAULT 0,
    queue_status text NOT NULL DEFAULT 'waiting',
    room text NOT NULL DEFAULT '',
    called_at text,
    served_at text,
    kiosk text NOT NULL DEFAULT '',
    synced integer NOT NULL DEFAULT 0,
    CONSTRAINT checkins_number UNIQUE (service_date, department, ticket)
);
CREATE INDEX checkins_subject ON checkins (subject, service_date, department);
CREATE INDEX checkins_waiting ON checkins (service_date, department, queue_status);

CREATE TABLE outbox (
    key text PRIMARY KEY,
    checkin_id text NOT NULL REFERENCES checkins (id),
    payload bytea NOT NULL,
    status text NOT NULL,
    attempts integer NOT NULL,
    next_attempt_at double precision NOT NULL,
    last_error text,
    delivered_at text
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_checkin ON outbox (checkin_id);

CREATE TABLE xml0_outbox (
    key text PRIMARY KEY,
    checkin_id text NOT NULL REFERENCES checkins (id),
    payload bytea NOT NULL,
    status text NOT NULL,
    attempts integer NOT NULL,
    next_attempt_at double precision NOT NULL,
    last_error text,
    delivered_at text,
    receipt text,
    received_at text
);
CREATE INDEX xml0_outbox_due ON xml0_outbox (status, next_attempt_at);
CREATE INDEX xml0_outbox_checkin ON xml0_outbox (checkin_id);

CREATE TABLE audit (
    seq integer PRIMARY KEY,
    at text NOT NULL,
    action text NOT NULL,
    subject text NOT NULL,
    detail text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL
);
CREATE INDEX audit_action ON audit (action, seq);

-- A kiosk's journal keeps its unused leased numbers in `leases`; the hospital's store
-- records every block it leased out in `leased_blocks`.
CREATE TABLE leases (
    department text NOT NULL,
    service_date text NOT NULL,
    first integer NOT NULL,
    next integer NOT NULL,
    last integer NOT NULL,
    PRIMARY KEY (department, service_date, first)
);

CREATE TABLE leased_blocks (
    kiosk text NOT NULL,
    department text NOT NULL,
    service_date text NOT NULL,
    first integer NOT NULL,
    last integer NOT NULL,
    leased_at text NOT NULL,
    PRIMARY KEY (department, service_date, first)
);
