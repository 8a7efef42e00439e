-- Indexes for look-ups that otherwise scan a growing table.

-- The next free sequence number of a class is MAX(code) over the class: without this index every assignment scanned
-- the whole catalog (an import of 100,000 entries without codes slowed down with every entry).
CREATE INDEX entries_class_code ON entries(class_code, code);

-- The grant of an application (shown with every application).
CREATE INDEX grants_application ON grants(application_id, created_at);

-- Deadline sweeps of the sharing tick.
CREATE INDEX applications_deadline ON applications(status, overdue, deadline);
CREATE INDEX objections_deadline ON objections(status, overdue, deadline);
CREATE INDEX grants_valid_until ON grants(status, valid_until);
