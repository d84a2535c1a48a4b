-- The hotline: messages between parties' duty desks, their escalations, and suspended lines.
--
-- Deadlines are kept twice: as RFC 3339 UTC text (what people and exports read) and as
-- Unix-epoch seconds (what the sweep compares; text with optional fractions does not
-- sort as time). fields is the JSON of the template's fields exactly as the sender gave
-- them (after validation), so the geometry hash both sides compute is over the same bytes.

CREATE TABLE hotline_messages (
    msg_key {pk},
    id TEXT NOT NULL UNIQUE,
    sender TEXT NOT NULL REFERENCES parties (id),
    recipient TEXT NOT NULL REFERENCES parties (id),
    desk TEXT NOT NULL,
    msg_class TEXT NOT NULL,
    rank INTEGER NOT NULL,
    template TEXT NOT NULL,
    fields TEXT NOT NULL,
    annex TEXT,
    geometry_sha256 TEXT,
    reply_to TEXT,
    created_at TEXT NOT NULL,
    deliver_by TEXT NOT NULL,
    deliver_by_s DOUBLE PRECISION NOT NULL,
    ack_by TEXT,
    ack_by_s DOUBLE PRECISION,
    ack_window_s DOUBLE PRECISION,
    -- When the sweep must next look at this message (NULL: nothing more can fall due), so
    -- a sweep reads only what is due now, however many old messages stay unacknowledged.
    sweep_delivery_s DOUBLE PRECISION,
    sweep_ack_s DOUBLE PRECISION,
    received_at TEXT,
    acked_at TEXT,
    ack_message TEXT,
    ack_signature TEXT,
    CHECK (sender <> recipient)
);

CREATE INDEX hotline_messages_recipient ON hotline_messages (recipient, rank, msg_key);
CREATE INDEX hotline_messages_sender ON hotline_messages (sender, msg_key);
CREATE INDEX hotline_messages_sweep_delivery ON hotline_messages (sweep_delivery_s);
CREATE INDEX hotline_messages_sweep_ack ON hotline_messages (sweep_ack_s);

-- One row per missed deadline and level: (message, 'delivery', 1) when machine receipt
-- was late, (message, 'acknowledgement', n) for the n-th step up the escalation chain.
-- The unique key is what makes two concurrent sweeps escalate once.
CREATE TABLE hotline_escalations (
    esc_key {pk},
    message_id TEXT NOT NULL REFERENCES hotline_messages (id),
    stage TEXT NOT NULL,
    level INTEGER NOT NULL,
    deadline TEXT NOT NULL,
    at TEXT NOT NULL,
    notify TEXT NOT NULL,
    UNIQUE (message_id, stage, level)
);

-- A line is suspended while any row names the pair; each side lifts only its own row.
CREATE TABLE hotline_suspensions (
    party TEXT NOT NULL REFERENCES parties (id),
    other TEXT NOT NULL REFERENCES parties (id),
    since TEXT NOT NULL,
    reason TEXT,
    PRIMARY KEY (party, other),
    CHECK (party <> other)
);
