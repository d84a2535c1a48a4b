-- Credentials, duty desks, pair policies, filing notice records and acknowledgements.
--
-- No secret is stored: credentials keep an scrypt hash (salt and cost parameters in the
-- text). The key that signs tokens is a file beside the store, never a row here, so a
-- copy of the database lets nobody sign in or mint a token.

CREATE TABLE credentials (
    client_id TEXT PRIMARY KEY,
    party TEXT NOT NULL REFERENCES parties (id),
    secret_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE INDEX credentials_party ON credentials (party);

-- Messages go to desks, never to named people. escalation is a JSON list of desk ids
-- of the same party, tried in order when a deadline passes.
CREATE TABLE desks (
    party TEXT NOT NULL REFERENCES parties (id),
    desk TEXT NOT NULL,
    language TEXT NOT NULL,
    escalation TEXT NOT NULL,
    PRIMARY KEY (party, desk)
);

-- One row per ordered pair (party_a <= party_b), beside pair_minima: the notice each
-- side owes the other, and what each side may see of the other's operations.
CREATE TABLE pair_policies (
    party_a TEXT NOT NULL REFERENCES parties (id),
    party_b TEXT NOT NULL REFERENCES parties (id),
    min_lead_s DOUBLE PRECISION NOT NULL,
    a_sees TEXT NOT NULL,
    b_sees TEXT NOT NULL,
    PRIMARY KEY (party_a, party_b),
    CHECK (party_a <= party_b)
);

-- The notice given with each version of an operation: when it was filed, how long
-- before its first volume started, and the parties whose minimum lead time it missed.
CREATE TABLE operation_notices (
    party TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    filed_at TEXT NOT NULL,
    lead_s DOUBLE PRECISION NOT NULL,
    late_for TEXT NOT NULL,
    purpose TEXT,
    PRIMARY KEY (party, id, version),
    FOREIGN KEY (party, id) REFERENCES operations (party, id)
);

-- Proof of awareness: party acknowledged version other_version of (other_party, other_id).
CREATE TABLE acknowledgements (
    party TEXT NOT NULL REFERENCES parties (id),
    other_party TEXT NOT NULL,
    other_id TEXT NOT NULL,
    other_version INTEGER NOT NULL,
    reference TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (party, other_party, other_id, other_version),
    FOREIGN KEY (other_party, other_id) REFERENCES operations (party, id)
);
