-- The volumes table was written with every operation and never read: the cell index
-- carries each volume's time and altitude ranges itself, and the exact values live in
-- the operation's volumes document. Its only use was as the parent of the index's
-- foreign key; the index now refers to the operation instead, and the table goes. A
-- filing writes about 10 % fewer pages to the WAL (two fewer b-tree pages per commit).
CREATE TABLE volume_cells_v3 (
    cell BIGINT NOT NULL,
    span INTEGER NOT NULL,
    t_end_s DOUBLE PRECISION NOT NULL,
    op_key BIGINT NOT NULL REFERENCES operations (op_key),
    idx INTEGER NOT NULL,
    t_start_s DOUBLE PRECISION NOT NULL,
    alt_lo_msl_m DOUBLE PRECISION NOT NULL,
    alt_hi_msl_m DOUBLE PRECISION NOT NULL,
    lat_lo DOUBLE PRECISION NOT NULL,
    lat_hi DOUBLE PRECISION NOT NULL,
    lon_lo DOUBLE PRECISION NOT NULL,
    lon_hi DOUBLE PRECISION NOT NULL,
    datum_key TEXT NOT NULL,
    alt_lo_m DOUBLE PRECISION NOT NULL,
    alt_hi_m DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (cell, span, t_end_s, op_key, idx)
) {without_rowid};

INSERT INTO volume_cells_v3
SELECT cell, span, t_end_s, op_key, idx, t_start_s, alt_lo_msl_m, alt_hi_msl_m,
       lat_lo, lat_hi, lon_lo, lon_hi, datum_key, alt_lo_m, alt_hi_m
FROM volume_cells;

DROP TABLE volume_cells;

DROP TABLE volumes;

ALTER TABLE volume_cells_v3 RENAME TO volume_cells;

CREATE INDEX volume_cells_op ON volume_cells (op_key);
