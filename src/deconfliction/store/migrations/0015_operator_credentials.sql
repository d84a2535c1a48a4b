-- Operators: credentials of whoever runs the mechanism, belonging to no party. They carry
-- the admin scope only, so they can set parties up but see no party's data; kept apart
-- from the parties' credentials so that no party id can ever name them.
CREATE TABLE operator_credentials (
    client_id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
