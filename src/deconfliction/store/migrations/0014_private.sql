-- Private mode (docs/private-mode.md): each pair's mode and, for private pairs, the cells
-- each side may submit per epoch.
ALTER TABLE pair_policies ADD COLUMN mode TEXT NOT NULL DEFAULT 'native';
ALTER TABLE pair_policies ADD COLUMN private_budget BIGINT NOT NULL DEFAULT 65536;

-- The relay's mailbox: sealed messages between two agents, in each direction's sequence.
-- Only the clear header (who, epoch, round, step, bucket, commitment) and the sealed box
-- (base64) are kept; the relay cannot open the box.
CREATE TABLE private_messages (
    sender TEXT NOT NULL REFERENCES parties (id),
    receiver TEXT NOT NULL REFERENCES parties (id),
    epoch BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    round BIGINT NOT NULL,
    kind TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    commitment TEXT,
    box TEXT NOT NULL,
    size BIGINT NOT NULL,
    at_s DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (sender, receiver, epoch, seq)
);
CREATE INDEX private_messages_round ON private_messages (sender, receiver, epoch, round, kind);

-- Every message the relay refused, and every refusal an agent reported of the other's
-- message, with the rule broken: kept so that a dispute has its record.
CREATE TABLE private_refusals (
    party TEXT NOT NULL REFERENCES parties (id),
    peer TEXT NOT NULL REFERENCES parties (id),
    epoch BIGINT NOT NULL,
    round BIGINT NOT NULL,
    reporter TEXT NOT NULL,
    code TEXT NOT NULL,
    field TEXT NOT NULL,
    at_s DOUBLE PRECISION NOT NULL
);
CREATE INDEX private_refusals_pair ON private_refusals (party, peer, epoch);

-- An agent's own store (a party's own machine, never the relay's): its progress in each
-- epoch with each peer, what each round sent and learned, and the notices it raised.
CREATE TABLE private_agent_state (
    peer TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (peer, epoch)
);
CREATE TABLE private_agent_rounds (
    peer TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    round BIGINT NOT NULL,
    cells_sent BIGINT NOT NULL,
    bucket BIGINT NOT NULL,
    peer_bucket BIGINT NOT NULL,
    shared BIGINT NOT NULL,
    bytes_sent BIGINT NOT NULL,
    bytes_received BIGINT NOT NULL,
    seconds DOUBLE PRECISION NOT NULL,
    at_s DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (peer, epoch, round)
);
-- One row per shared cell and own operation version: the conflict notice at cell grain.
CREATE TABLE private_notices (
    peer TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    reference TEXT NOT NULL,
    operation_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    cell BIGINT NOT NULL,
    band INTEGER NOT NULL,
    slot BIGINT NOT NULL,
    found_at_s DOUBLE PRECISION NOT NULL,
    acknowledged_at_s DOUBLE PRECISION,
    PRIMARY KEY (peer, epoch, reference, operation_id, version)
);
-- Cells blinded ahead of their round (when the plan was filed, or before the epoch
-- began), so that a round only re-blinds the peer's set: the point each cell will send.
CREATE TABLE private_agent_ahead (
    peer TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    cell BIGINT NOT NULL,
    band INTEGER NOT NULL,
    slot BIGINT NOT NULL,
    point TEXT NOT NULL,
    PRIMARY KEY (peer, epoch, cell, band, slot)
);
