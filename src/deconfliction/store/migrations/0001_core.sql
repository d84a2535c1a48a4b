-- Core schema: parties, pair minima, operations with their volumes and cell index, conflicts.
--
-- The same text runs on SQLite, PostgreSQL and CockroachDB. Two tokens are filled in by
-- the dialect: {pk} (an auto-numbered 64-bit primary key) and {without_rowid} (SQLite
-- stores the cell index clustered on its key; the others keep their default layout).
-- Times are Unix-epoch seconds and altitudes MSL metres: the index columns only ever
-- narrow a search, the exact values live in the operation's volumes document.

CREATE TABLE parties (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL
);

-- Keyed by the ordered pair (party_a <= party_b): minima do not depend on who asks.
CREATE TABLE pair_minima (
    party_a TEXT NOT NULL REFERENCES parties (id),
    party_b TEXT NOT NULL REFERENCES parties (id),
    horizontal_m DOUBLE PRECISION NOT NULL,
    vertical_m DOUBLE PRECISION NOT NULL,
    time_s DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (party_a, party_b),
    CHECK (party_a <= party_b)
);

-- volumes holds the JSON list of the operation's Volume4Ds (geo.codec, SI units, UTC).
CREATE TABLE operations (
    op_key {pk},
    party TEXT NOT NULL REFERENCES parties (id),
    id TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1),
    state TEXT NOT NULL,
    priority INTEGER NOT NULL,
    affiliation TEXT,
    volumes TEXT NOT NULL,
    UNIQUE (party, id)
);

CREATE TABLE volumes (
    op_key BIGINT NOT NULL REFERENCES operations (op_key),
    idx INTEGER NOT NULL,
    t_start_s DOUBLE PRECISION NOT NULL,
    t_end_s DOUBLE PRECISION NOT NULL,
    alt_lo_msl_m DOUBLE PRECISION NOT NULL,
    alt_hi_msl_m DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (op_key, idx)
);

-- The coarse index: one row per H3 cell touching a volume's footprint. The volume's
-- time and altitude ranges are copied here so that a candidate search filters inside
-- the index, reading the cell's entries in key order, and touches operations only for
-- entries that pass; t_end_s in the key lets it skip entries that ended too early.
CREATE TABLE volume_cells (
    cell BIGINT NOT NULL,
    t_end_s DOUBLE PRECISION NOT NULL,
    op_key BIGINT NOT NULL,
    idx INTEGER NOT NULL,
    t_start_s DOUBLE PRECISION NOT NULL,
    alt_lo_msl_m DOUBLE PRECISION NOT NULL,
    alt_hi_msl_m DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (cell, t_end_s, op_key, idx),
    FOREIGN KEY (op_key, idx) REFERENCES volumes (op_key, idx)
) {without_rowid};

CREATE INDEX volume_cells_op ON volume_cells (op_key);

-- One row per unordered pair of operations, stored with the smaller (party, id) as
-- side a; readers turn it to face themselves. overlaps_json is a JSON list (regions as WKB).
CREATE TABLE conflicts (
    a_party TEXT NOT NULL,
    a_id TEXT NOT NULL,
    a_version INTEGER NOT NULL,
    b_party TEXT NOT NULL,
    b_id TEXT NOT NULL,
    b_version INTEGER NOT NULL,
    horizontal_m DOUBLE PRECISION NOT NULL,
    vertical_m DOUBLE PRECISION NOT NULL,
    time_s DOUBLE PRECISION NOT NULL,
    start_s DOUBLE PRECISION NOT NULL,
    end_s DOUBLE PRECISION NOT NULL,
    overlaps_json TEXT NOT NULL,
    PRIMARY KEY (a_party, a_id, b_party, b_id),
    FOREIGN KEY (a_party, a_id) REFERENCES operations (party, id),
    FOREIGN KEY (b_party, b_id) REFERENCES operations (party, id),
    CHECK (a_party < b_party OR (a_party = b_party AND a_id < b_id))
);

CREATE INDEX conflicts_b ON conflicts (b_party, b_id);
