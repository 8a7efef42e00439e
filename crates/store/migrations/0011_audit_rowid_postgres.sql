-- Shuqiao schema v11: on SQLite, the audit log keyed by its rowid; PostgreSQL's tables have no rowid (nothing to do).
SELECT 1;
