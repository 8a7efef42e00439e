-- Shuqiao schema v5: file exchange (文件交换). Each uploaded version of a file of a catalog entry; the bytes live
-- in the data directory (`files/<id>`), checksummed with SHA-256.
CREATE TABLE files (
    id TEXT PRIMARY KEY,
    resource TEXT NOT NULL,
    department TEXT NOT NULL REFERENCES departments(id),
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    content_type TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL,
    UNIQUE (resource, name, version)
);
CREATE INDEX files_resource ON files(resource, uploaded_at, id);
