-- The bridge between native operations and F3548 (docs/f3548.md, "The bridge").
--
-- A native party's accepted or activated operation is published to USSs as a constraint
-- reference at the disclosure grid. Unlike a USS's constraint it is not an operation of
-- its own (it would then conflict natively with everyone a second time): its volumes are
-- the grid's cells, bands and slots (volumes: a JSON list of geo.codec Volume4Ds), indexed
-- by cells here for the DSS's constraint searches.
CREATE TABLE bridge_constraints (
    id TEXT PRIMARY KEY,
    party TEXT NOT NULL REFERENCES parties (id),
    operation_id TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1),
    ovn TEXT NOT NULL,
    time_start TEXT NOT NULL,
    time_end TEXT NOT NULL,
    volumes TEXT NOT NULL,
    UNIQUE (party, operation_id)
);

CREATE TABLE bridge_constraint_cells (
    cell BIGINT NOT NULL,
    t_start_s DOUBLE PRECISION NOT NULL,
    t_end_s DOUBLE PRECISION NOT NULL,
    alt_lo_msl_m DOUBLE PRECISION NOT NULL,
    alt_hi_msl_m DOUBLE PRECISION NOT NULL,
    constraint_id TEXT NOT NULL REFERENCES bridge_constraints (id)
);
CREATE INDEX bridge_constraint_cells_cell ON bridge_constraint_cells (cell, t_end_s);
CREATE INDEX bridge_constraint_cells_constraint ON bridge_constraint_cells (constraint_id);

-- Constraint notifications to send (POST {uss_base_url}/uss/v1/constraints), written in
-- the transaction of the change; a worker in each `serve` process sends them and retries.
-- subscriptions: JSON [[subscription_id, notification_index], ...].
CREATE TABLE bridge_notifications (
    id TEXT PRIMARY KEY,
    uss_base_url TEXT NOT NULL,
    constraint_id TEXT NOT NULL,
    subscriptions TEXT NOT NULL,
    created_s DOUBLE PRECISION NOT NULL,
    due_s DOUBLE PRECISION NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT
);
CREATE INDEX bridge_notifications_due ON bridge_notifications (due_s);

-- Which party a USS (the client id in its F3548 tokens' `sub`) belongs to.
CREATE TABLE uss_links (
    client_id TEXT PRIMARY KEY,
    party TEXT NOT NULL REFERENCES parties (id)
);
