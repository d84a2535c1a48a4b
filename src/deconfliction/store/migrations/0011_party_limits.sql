-- Plausibility limits per party (engine/limits.py) and the space-time each party holds.
--
-- A limit left NULL is the default in force, so a better default reaches every party
-- the operator set no value for. held_m2s is the sum of claim_m2s (footprint area times
-- duration, m^2 s) over the party's live operations, kept by the store as it writes
-- operations (store/sql.py). NULL means not counted yet: the parties of a store that
-- held operations before claims were stored are counted on first use (store/limits.py).
CREATE TABLE party_limits (
    party TEXT PRIMARY KEY REFERENCES parties (id),
    max_volume_area_m2 DOUBLE PRECISION,
    max_altitude_span_m DOUBLE PRECISION,
    max_duration_s DOUBLE PRECISION,
    max_volumes INTEGER,
    max_claim_m2s DOUBLE PRECISION,
    held_m2s DOUBLE PRECISION
);

INSERT INTO party_limits (party) SELECT id FROM parties;

ALTER TABLE operations ADD COLUMN claim_m2s DOUBLE PRECISION;
