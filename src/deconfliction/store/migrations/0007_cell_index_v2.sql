-- The cell index, rebuilt with two additions that narrow a candidate search inside the
-- index itself:
--
-- span: the volume's duration class (0: up to 6 h, 1: up to 2 days, 2: up to 30 days,
-- 3: longer). Keyed (cell, span, t_end_s), a search reads for each class only the
-- entries that end between its window's start and its end plus that class's longest
-- duration, instead of every entry of the cell that ends after the start: with a week of
-- stored operations that is about a twentieth of the entries.
--
-- lat_lo .. lon_hi: the volume's bounding box in degrees, so that entries sharing a
-- cell with the searched footprint but lying too far from it are dropped before any
-- operation is read. Entries copied from the old index get the whole globe, which never
-- drops anything, so no re-indexing is needed.
CREATE TABLE volume_cells_v2 (
    cell BIGINT NOT NULL,
    span INTEGER NOT NULL,
    t_end_s DOUBLE PRECISION NOT NULL,
    op_key BIGINT NOT NULL,
    idx INTEGER NOT NULL,
    t_start_s DOUBLE PRECISION NOT NULL,
    alt_lo_msl_m DOUBLE PRECISION NOT NULL,
    alt_hi_msl_m DOUBLE PRECISION NOT NULL,
    lat_lo DOUBLE PRECISION NOT NULL,
    lat_hi DOUBLE PRECISION NOT NULL,
    lon_lo DOUBLE PRECISION NOT NULL,
    lon_hi DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (cell, span, t_end_s, op_key, idx),
    FOREIGN KEY (op_key, idx) REFERENCES volumes (op_key, idx)
) {without_rowid};

INSERT INTO volume_cells_v2
SELECT cell,
       CASE WHEN t_end_s - t_start_s <= 21600 THEN 0
            WHEN t_end_s - t_start_s <= 172800 THEN 1
            WHEN t_end_s - t_start_s <= 2592000 THEN 2
            ELSE 3 END,
       t_end_s, op_key, idx, t_start_s, alt_lo_msl_m, alt_hi_msl_m, -90, 90, -180, 180
FROM volume_cells;

DROP TABLE volume_cells;

ALTER TABLE volume_cells_v2 RENAME TO volume_cells;

CREATE INDEX volume_cells_op ON volume_cells (op_key);
