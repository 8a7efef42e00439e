-- Shuqiao schema v10: on PostgreSQL, out-of-line storage without compression for two columns; SQLite has no such
-- setting (nothing to do).
SELECT 1;
