-- Shuqiao schema v3: data exchange — nodes, mounts, per-grant daily usage, and the subject index of the audit log.

-- Front-end exchange nodes (前置交换节点) registered by their department's administrator.
CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    department TEXT NOT NULL REFERENCES departments(id),
    name TEXT NOT NULL,
    public_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen TEXT,
    health TEXT,
    remote_addr TEXT
);
CREATE INDEX nodes_department ON nodes(department, created_at);

-- One mount per catalog entry (by resource code); `data` holds the mount as JSON, `check_result` the last check.
CREATE TABLE mounts (
    resource TEXT PRIMARY KEY,
    department TEXT NOT NULL REFERENCES departments(id),
    node_id TEXT NOT NULL REFERENCES nodes(id),
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    check_ok BIGINT,
    check_result TEXT,
    checked_at TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX mounts_node ON mounts(node_id);

-- Requests and records served per grant and day (China time), for quotas.
CREATE TABLE grant_usage (
    grant_id TEXT NOT NULL REFERENCES grants(id),
    day TEXT NOT NULL,
    requests BIGINT NOT NULL,
    records BIGINT NOT NULL,
    PRIMARY KEY (grant_id, day)
);

-- Which audit events touched which data subject (keyed hash), written with the events in the same transaction.
-- Not part of the hash chain: a derived index; look-ups re-check the event's own `subjects`.
CREATE TABLE audit_subjects (
    hash TEXT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (hash, seq)
);
