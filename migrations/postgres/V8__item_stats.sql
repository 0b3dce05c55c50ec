-- The number of items and a version that every change to the catalogue
-- bumps, both kept exact by triggers. An unfiltered listing reads its total
-- from this one row instead of counting the table; a filtered listing reuses
-- a total it counted before as long as the version has not moved.
-- Statement-level triggers: a bulk insert updates the row once.
CREATE TABLE item_stats (
    id       SMALLINT NOT NULL PRIMARY KEY CHECK (id = 1),
    n        BIGINT   NOT NULL CHECK (n >= 0),
    version  BIGINT   NOT NULL
);
INSERT INTO item_stats (id, n, version) SELECT 1, count(*), 0 FROM items;

CREATE FUNCTION item_stats_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE item_stats SET n = n + (SELECT count(*) FROM added), version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
CREATE FUNCTION item_stats_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE item_stats SET n = n - (SELECT count(*) FROM removed), version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
CREATE FUNCTION item_stats_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE item_stats SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER item_stats_insert AFTER INSERT ON items
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION item_stats_added();
CREATE TRIGGER item_stats_delete AFTER DELETE ON items
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION item_stats_removed();
CREATE TRIGGER item_stats_update AFTER UPDATE ON items
    FOR EACH STATEMENT EXECUTE FUNCTION item_stats_changed();
