-- Shuqiao schema v11: on SQLite, the audit log keyed by its rowid. `seq BIGINT PRIMARY KEY` was not an alias of
-- SQLite's rowid, so every event went into the table and into a separate index on seq, and every read in seq order
-- (verification, listings) walked that index and looked each row up again in the table. As `INTEGER PRIMARY KEY`
-- the table itself is ordered by seq. The secondary indexes end with the rowid implicitly, i.e. with seq, as before.
-- The events are copied unchanged (the hash chain covers their fields, not where they are stored).
CREATE TABLE audit_events_v11 (
    seq INTEGER PRIMARY KEY,
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
INSERT INTO audit_events_v11 (seq, at, actor, actor_name, actor_department, department, action, object, resource,
    purpose, case_ref, subjects, result, detail, prev_hash, hash)
SELECT seq, at, actor, actor_name, actor_department, department, action, object, resource, purpose, case_ref,
    subjects, result, detail, prev_hash, hash
FROM audit_events ORDER BY seq;
DROP TABLE audit_events;
ALTER TABLE audit_events_v11 RENAME TO audit_events;
CREATE INDEX audit_events_actor_department ON audit_events(actor_department);
CREATE INDEX audit_events_department ON audit_events(department);
CREATE INDEX audit_events_resource ON audit_events(resource);
CREATE INDEX audit_events_action_at ON audit_events(action, at);
