-- Shuqiao schema v1: accounts and the catalog. Portable SQL for SQLite and PostgreSQL: TEXT ids (UUID),
-- BIGINT for integers and booleans (0/1), timestamps as RFC 3339 UTC text with fixed width (sortable), JSON as TEXT.

CREATE TABLE regions (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    parent TEXT REFERENCES regions(code),
    created_at TEXT NOT NULL
);

CREATE TABLE departments (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    credit_code TEXT NOT NULL UNIQUE,
    region TEXT NOT NULL REFERENCES regions(code),
    parent TEXT REFERENCES departments(id),
    kind TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    display_name TEXT NOT NULL,
    department_id TEXT REFERENCES departments(id),
    roles TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_clients (
    id TEXT PRIMARY KEY,
    department_id TEXT NOT NULL REFERENCES departments(id),
    name TEXT NOT NULL,
    roles TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

-- One row per version of an entry. At most one working version (draft/submitted/returned) per code, and at most
-- one served version (published/retired); older published versions are 'superseded' and stay readable.
CREATE TABLE entries (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    version BIGINT NOT NULL,
    department_id TEXT NOT NULL REFERENCES departments(id),
    status TEXT NOT NULL,
    name TEXT NOT NULL,
    class_code TEXT NOT NULL,
    data TEXT NOT NULL,
    comment TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    published_at TEXT,
    UNIQUE (code, version)
);
CREATE INDEX entries_department ON entries(department_id, status);
CREATE INDEX entries_status ON entries(status, updated_at);

-- Responses to state-changing calls made with an Idempotency-Key, replayed on retry.
CREATE TABLE idempotency_keys (
    principal TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (principal, key)
);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
