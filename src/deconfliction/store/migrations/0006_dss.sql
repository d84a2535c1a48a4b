-- ASTM F3548-21 DSS metadata, keyed to our operations (no second storage model).
--
-- An operational intent or constraint reference IS an operation of its manager's party:
-- its volumes live in operations/volumes/volume_cells and the engine checks them like any
-- other. These tables hold only what F3548 adds: the entity's OVN and F3548 version, its
-- F3548 state, the USS base URL and the subscription it depends on; plus subscriptions
-- (indexed by the same H3 cells), USS availability and reports.

CREATE TABLE dss_entities (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    party TEXT NOT NULL REFERENCES parties (id),
    version INTEGER NOT NULL CHECK (version >= 1),
    ovn TEXT NOT NULL,
    state TEXT NOT NULL,
    uss_base_url TEXT NOT NULL,
    subscription_id TEXT,
    time_start TEXT NOT NULL,
    time_end TEXT NOT NULL,
    FOREIGN KEY (party, id) REFERENCES operations (party, id)
);

CREATE INDEX dss_entities_subscription ON dss_entities (subscription_id);

-- volume is one Volume4D (geo.codec); the area of interest of the subscription.
CREATE TABLE dss_subscriptions (
    id TEXT PRIMARY KEY,
    party TEXT NOT NULL REFERENCES parties (id),
    version TEXT NOT NULL,
    notification_index INTEGER NOT NULL,
    uss_base_url TEXT NOT NULL,
    notify_for_operational_intents INTEGER NOT NULL,
    notify_for_constraints INTEGER NOT NULL,
    implicit INTEGER NOT NULL,
    t_start_s DOUBLE PRECISION NOT NULL,
    t_end_s DOUBLE PRECISION NOT NULL,
    volume TEXT NOT NULL
);

CREATE TABLE dss_subscription_cells (
    cell BIGINT NOT NULL,
    t_end_s DOUBLE PRECISION NOT NULL,
    subscription_id TEXT NOT NULL REFERENCES dss_subscriptions (id),
    PRIMARY KEY (cell, t_end_s, subscription_id)
) {without_rowid};

CREATE INDEX dss_subscription_cells_sub ON dss_subscription_cells (subscription_id);

CREATE TABLE dss_availability (
    uss TEXT PRIMARY KEY,
    availability TEXT NOT NULL,
    version TEXT NOT NULL
);

CREATE TABLE dss_reports (
    id TEXT PRIMARY KEY,
    party TEXT NOT NULL REFERENCES parties (id),
    at TEXT NOT NULL,
    report TEXT NOT NULL
);
