-- Shuqiao schema v8: table sync (库表交换). A subscription delivers the granted items of a table mount to a table on
-- the consumer's node; its batches travel on the bus (stream `subscription:<id>`), and each batch leaves a
-- provenance row: read from the provider, published, applied by the consumer, with its checksum.
CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL,
    consumer TEXT NOT NULL,
    provider TEXT NOT NULL,
    resource TEXT NOT NULL,
    node TEXT NOT NULL,
    target_table TEXT NOT NULL,
    state TEXT NOT NULL,
    data TEXT NOT NULL,
    last_error TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX subscriptions_consumer ON subscriptions (consumer, created_at, id);
CREATE INDEX subscriptions_provider ON subscriptions (provider, created_at, id);
CREATE INDEX subscriptions_grant ON subscriptions (grant_id);
CREATE INDEX subscriptions_state ON subscriptions (state);
CREATE TABLE sync_batches (
    subscription TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    upserts BIGINT NOT NULL,
    deletes BIGINT NOT NULL,
    checksum TEXT NOT NULL,
    read_at TEXT NOT NULL,
    published_at TEXT NOT NULL,
    applied_at TEXT,
    PRIMARY KEY (subscription, seq)
);
