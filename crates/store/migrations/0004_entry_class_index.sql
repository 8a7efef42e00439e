-- The next free sequence number of a class is MAX(code) over the class: without this index every assignment scanned
-- the whole catalog (an import of 100,000 entries without codes slowed down with every entry).
CREATE INDEX entries_class_code ON entries(class_code, code);
