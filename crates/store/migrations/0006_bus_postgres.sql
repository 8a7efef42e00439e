-- Shuqiao schema v6: the embedded bus (DESIGN "Data exchange": a store-backed queue behind the same trait as NATS
-- JetStream). One ordered log per stream; a stream's messages up to its acknowledged sequence may be dropped.
CREATE TABLE bus_messages (
    stream TEXT NOT NULL,
    seq BIGINT NOT NULL,
    payload BYTEA NOT NULL,
    published_at TEXT NOT NULL,
    PRIMARY KEY (stream, seq)
);
CREATE TABLE bus_streams (
    stream TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL,
    acked_seq BIGINT NOT NULL
);
