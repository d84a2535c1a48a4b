-- The disclosure grid of each pair (docs/disclosure.md): the rule that decides its
-- conflicts ('grid' or 'exact') and the grid's cell resolution, band height and slot
-- length. Pairs with no row, and the rows written before, decide on the default grid.
ALTER TABLE pair_policies ADD COLUMN rule TEXT NOT NULL DEFAULT 'grid';
ALTER TABLE pair_policies ADD COLUMN grid_resolution INTEGER NOT NULL DEFAULT 6;
ALTER TABLE pair_policies ADD COLUMN grid_band_m DOUBLE PRECISION NOT NULL DEFAULT 304.8;
ALTER TABLE pair_policies ADD COLUMN grid_slot_s DOUBLE PRECISION NOT NULL DEFAULT 900;

-- What each viewer has been told of each owner's plans: per conflict reference and
-- cell, the box of bands x slots disclosed, and when. The ledger and the budget read it.
CREATE TABLE disclosures (
    owner TEXT NOT NULL REFERENCES parties (id),
    viewer TEXT NOT NULL REFERENCES parties (id),
    cell BIGINT NOT NULL,
    band_lo INTEGER NOT NULL,
    band_hi INTEGER NOT NULL,
    slot_lo BIGINT NOT NULL,
    slot_hi BIGINT NOT NULL,
    at_s DOUBLE PRECISION NOT NULL,
    reference TEXT NOT NULL
);
CREATE INDEX disclosures_cells ON disclosures (owner, viewer, cell, at_s);

-- Each disclosure's charge against the viewer's budget about the owner: the units it
-- told the viewer that no disclosure of the rolling window before it had.
CREATE TABLE disclosure_charges (
    owner TEXT NOT NULL REFERENCES parties (id),
    viewer TEXT NOT NULL REFERENCES parties (id),
    at_s DOUBLE PRECISION NOT NULL,
    units BIGINT NOT NULL,
    reference TEXT NOT NULL
);
CREATE INDEX disclosure_charges_recent ON disclosure_charges (owner, viewer, at_s);

-- The budget of disclosed units an owner allows a viewer over the rolling window; pairs
-- with no row have the default (docs/disclosure.md). Only the owner raises it.
CREATE TABLE disclosure_budgets (
    owner TEXT NOT NULL REFERENCES parties (id),
    viewer TEXT NOT NULL REFERENCES parties (id),
    units BIGINT NOT NULL,
    set_at_s DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (owner, viewer)
);

-- Conflicts whose location was withheld from a viewer for want of budget: the owner's
-- desk is told once per conflict reference, not at every read.
CREATE TABLE disclosures_withheld (
    owner TEXT NOT NULL REFERENCES parties (id),
    viewer TEXT NOT NULL REFERENCES parties (id),
    reference TEXT NOT NULL,
    at_s DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (owner, viewer, reference)
);
