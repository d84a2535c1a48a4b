-- Signatures around the audit chains: parties' acknowledgement keys and the server's
-- signed checkpoints of each chain's head.
--
-- Only public keys are stored here. The server's private signing key lives in a file
-- outside the database (see docs/audit.md), so a copy of the database cannot forge a
-- checkpoint, and a party's private key never leaves the party.

-- One row per key a party has had; the newest unrevoked one signs new acknowledgements.
-- public_key is the raw 32-byte Ed25519 key in base64url; key_id is its SHA-256 prefix.
CREATE TABLE party_keys (
    party TEXT NOT NULL REFERENCES parties (id),
    key_id TEXT NOT NULL,
    public_key TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    revoked_at TEXT,
    PRIMARY KEY (party, key_id)
);

-- The server's signature over (party, seq, hash, at) of a chain head; key_id names the
-- server key, so a rotated key still verifies the checkpoints it signed.
CREATE TABLE audit_checkpoints (
    party TEXT NOT NULL REFERENCES parties (id),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    at TEXT NOT NULL,
    key_id TEXT NOT NULL,
    public_key TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (party, seq, key_id)
);
