-- The data-subject look-up index, compact: `k` is the first 8 bytes of SHA-256 of the subject's keyed hash (as a
-- signed integer) with the event's seq. A table sync indexes one row per synced subject, so the row's size is the
-- cost: two integers here against a text key of ~80 bytes in `audit_subjects`, which keeps the rows of events
-- appended before this migration and is still read by look-ups. Not part of the hash chain; a look-up re-checks
-- each event's own `subjects` (which also rules out two hashes sharing a `k`).
CREATE TABLE audit_subject_keys (
    k BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (k, seq)
);
