-- The outbox of events each party receives, and each party's hash-chained audit log.
--
-- Both are numbered per party by a counter row that the appending transaction updates
-- (and so locks until it commits): numbers are gapless and appear in commit order, so a
-- client that resumes "after 41" can never miss a 41 that committed late, on PostgreSQL
-- as on SQLite's single writer.

CREATE TABLE party_counters (
    party TEXT NOT NULL REFERENCES parties (id),
    counter TEXT NOT NULL,
    value BIGINT NOT NULL,
    head TEXT NOT NULL,
    PRIMARY KEY (party, counter)
);

-- payload is JSON; created_at RFC 3339 UTC.
CREATE TABLE events (
    party TEXT NOT NULL REFERENCES parties (id),
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (party, seq)
);

-- One chain per party: hash = SHA-256 over the canonical JSON of
-- {seq, prev, at, kind, actor, body}; body_hash lets two parties' logs be matched entry
-- for entry where one event concerns both.
CREATE TABLE audit_log (
    party TEXT NOT NULL REFERENCES parties (id),
    seq BIGINT NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    body TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (party, seq)
);
