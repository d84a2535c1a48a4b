-- Probe alarms (docs/disclosure.md). Each change of an operation that could matter to a
-- detector leaves a fact: when, what change, the shape of its volumes (largest footprint
-- area, centre, envelope of windows, digest) and, as JSON, what it was told about each
-- owner it conflicted with, the owner's operations ({owner: [operation id, ...]}). Detectors
-- read one party's facts of the last 24 hours, and every party's facts about small
-- operations of the last hours; older facts are deleted as new ones come.
CREATE TABLE probe_facts (
    party TEXT NOT NULL REFERENCES parties (id),
    operation_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    at_s DOUBLE PRECISION NOT NULL,
    change TEXT NOT NULL,
    area_m2 DOUBLE PRECISION NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    start_s DOUBLE PRECISION NOT NULL,
    end_s DOUBLE PRECISION NOT NULL,
    shape TEXT NOT NULL,
    touched TEXT NOT NULL
);
CREATE INDEX probe_facts_party ON probe_facts (party, at_s);
CREATE INDEX probe_facts_operation ON probe_facts (party, operation_id);
CREATE INDEX probe_facts_small ON probe_facts (at_s, area_m2);

-- Alarms raised: which detector, against which owner, naming which suspect (one row per
-- suspect when several probe together, with the others in colluding), the suspects'
-- operations that made the pattern (JSON), and the count against the threshold. One
-- alarm per suspect, owner and detector in any 24 hours: the owner is told once, not at
-- every further probe.
CREATE TABLE probe_alarms (
    suspect TEXT NOT NULL REFERENCES parties (id),
    owner TEXT NOT NULL REFERENCES parties (id),
    detector TEXT NOT NULL,
    at_s DOUBLE PRECISION NOT NULL,
    colluding TEXT NOT NULL,
    operations TEXT NOT NULL,
    count INTEGER NOT NULL,
    threshold INTEGER NOT NULL,
    PRIMARY KEY (suspect, owner, detector, at_s)
);
CREATE INDEX probe_alarms_owner ON probe_alarms (owner, at_s);
CREATE INDEX probe_alarms_time ON probe_alarms (at_s);
