-- Shuqiao schema v2: the audit chain and the sharing workflow.

-- Append-only, hash-chained log. seq starts at 1 and has no gaps; hash = H(prev_hash || canonical event).
CREATE TABLE audit_events (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    actor_department TEXT,
    department TEXT,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    resource TEXT,
    purpose TEXT,
    case_ref TEXT,
    subjects TEXT NOT NULL,
    result TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_events_actor_department ON audit_events(actor_department, seq);
CREATE INDEX audit_events_department ON audit_events(department, seq);
CREATE INDEX audit_events_resource ON audit_events(resource, seq);

-- The chain head, one row; appends lock it (UPDATE … RETURNING) so that they are serialised on PostgreSQL too.
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Signed checkpoints of the chain head (ed25519 over "shuqiao-audit-v1|algorithm|seq|hash").
CREATE TABLE audit_checkpoints (
    seq BIGINT PRIMARY KEY,
    hash TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    signed_at TEXT NOT NULL,
    public_key TEXT NOT NULL,
    signature TEXT NOT NULL
);

CREATE TABLE applications (
    id TEXT PRIMARY KEY,
    consumer_department TEXT NOT NULL REFERENCES departments(id),
    provider_department TEXT NOT NULL REFERENCES departments(id),
    resource TEXT NOT NULL,
    entry_version BIGINT NOT NULL,
    status TEXT NOT NULL,
    deadline TEXT,
    deadline_covered BIGINT NOT NULL DEFAULT 1,
    overdue BIGINT NOT NULL DEFAULT 0,
    data TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX applications_consumer ON applications(consumer_department, status);
CREATE INDEX applications_provider ON applications(provider_department, status);

CREATE TABLE application_history (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications(id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX application_history_app ON application_history(application_id, at);

CREATE TABLE grants (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications(id),
    consumer_department TEXT NOT NULL REFERENCES departments(id),
    provider_department TEXT NOT NULL REFERENCES departments(id),
    resource TEXT NOT NULL,
    status TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    recertify BIGINT NOT NULL DEFAULT 0,
    last_used_at TEXT,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX grants_consumer ON grants(consumer_department, status);
CREATE INDEX grants_provider ON grants(provider_department, status);
CREATE INDEX grants_resource ON grants(resource, status);

CREATE TABLE objections (
    id TEXT PRIMARY KEY,
    consumer_department TEXT NOT NULL REFERENCES departments(id),
    provider_department TEXT NOT NULL REFERENCES departments(id),
    resource TEXT NOT NULL,
    status TEXT NOT NULL,
    deadline TEXT NOT NULL,
    overdue BIGINT NOT NULL DEFAULT 0,
    data TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX objections_provider ON objections(provider_department, status);
CREATE INDEX objections_consumer ON objections(consumer_department, status);

CREATE TABLE demands (
    id TEXT PRIMARY KEY,
    consumer_department TEXT NOT NULL REFERENCES departments(id),
    routed_to TEXT REFERENCES departments(id),
    status TEXT NOT NULL,
    data TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX demands_consumer ON demands(consumer_department, status);
CREATE INDEX demands_routed ON demands(routed_to, status);
