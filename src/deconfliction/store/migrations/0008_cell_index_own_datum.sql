-- The cell index also holds each volume's band as filed, in its own datum, with a key
-- naming that datum (for AGL, with the ground elevation it was filed over). Two bands of
-- the same key are compared raw by the engine (geo.altitude.comparable_intervals), which
-- is much tighter than their MSL envelopes (a flight level's envelope is widened by
-- 400-650 m and 10 % of its height either way), so a search can drop same-datum entries
-- the raw comparison separates before any operation is read: about a third of the volume
-- pairs the index used to match in the strategic benchmark. Entries already indexed get
-- the key '', which matches no band, so they are filtered by their envelopes as before.
ALTER TABLE volume_cells ADD COLUMN datum_key TEXT NOT NULL DEFAULT '';
ALTER TABLE volume_cells ADD COLUMN alt_lo_m DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE volume_cells ADD COLUMN alt_hi_m DOUBLE PRECISION NOT NULL DEFAULT 0;
