-- Shuqiao schema v10 (PostgreSQL): columns whose values PostgreSQL's pglz would compress in vain, or at a cost
-- out of proportion, are stored out of line uncompressed. An audit event of a table-sync batch lists the keyed
-- hashes of up to several thousand subjects (64 hex digits each, random: pglz scans them and keeps little), and a
-- bus message is a zstd-compressed batch. Applies to rows written from now on; nothing is rewritten.
ALTER TABLE audit_events ALTER COLUMN subjects SET STORAGE EXTERNAL;
ALTER TABLE bus_messages ALTER COLUMN payload SET STORAGE EXTERNAL;
