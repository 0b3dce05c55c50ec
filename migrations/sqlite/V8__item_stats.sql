-- The number of items and a version that every change to the catalogue
-- bumps, both kept exact by triggers. An unfiltered listing reads its total
-- from this one row instead of counting the table; a filtered listing reuses
-- a total it counted before as long as the version has not moved.
CREATE TABLE item_stats (
    id       INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    n        INTEGER NOT NULL CHECK (n >= 0),
    version  INTEGER NOT NULL
);
INSERT INTO item_stats (id, n, version) SELECT 1, count(*), 0 FROM items;
CREATE TRIGGER item_stats_insert AFTER INSERT ON items BEGIN
    UPDATE item_stats SET n = n + 1, version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER item_stats_delete AFTER DELETE ON items BEGIN
    UPDATE item_stats SET n = n - 1, version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER item_stats_update AFTER UPDATE ON items BEGIN
    UPDATE item_stats SET version = version + 1 WHERE id = 1;
END;
