-- Substring search with about half the index lookups of trigrams.
--
-- A trigram phrase pins a substring of n characters with n - 2 tokens, each
-- a position list FTS5 must read and line up. This index holds every chunk
-- of 3 and of 4 characters, in four streams per column: 3-character chunks
-- starting at odd positions, then at even ones, then the same for 4. Within
-- a stream consecutive tokens start two characters apart, so a text of odd
-- length is the phrase of its 3-character chunks at every second position,
-- and a text of even length that of its 4-character chunks: (n - 1) / 2
-- tokens, exact, whatever the characters. Counting "notebook" in a million
-- demo items reads 3 position lists instead of 6 (13 ms down to 6).
--
-- Chunks are written with a space between them; the tokenizer treats every
-- character but the space as part of a token and folds case as the trigram
-- tokenizer did (remove_diacritics 0). In a chunk, "_" is written "_u" and a
-- space "_s", so a lone "_" never comes from text: it separates the streams,
-- and no phrase can span two of them.
--
-- The chunks are computed in SQL (the view below) so that every writer keeps
-- the index right, the sqlite3 shell included. The index costs about twice
-- the trigram index on disk and about 1.5 times its CPU per insert.

-- Character positions 1..500: an item's name is at most 100 characters and
-- its description at most 500.
CREATE TABLE item_search_offsets (i INTEGER NOT NULL PRIMARY KEY);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
INSERT INTO item_search_offsets (i) SELECT i FROM n;

-- What the index holds for each item. The offsets are read in order, so
-- group_concat joins the chunks in text order.
CREATE VIEW item_search_text (id, name, description) AS
SELECT items.id,
       CASE WHEN items.name IS NULL THEN NULL ELSE
          coalesce((SELECT group_concat(replace(replace(substr(items.name, i, 3), '_', '_u'), ' ', '_s'), ' ')
                   FROM item_search_offsets WHERE i % 2 = 1 AND i <= length(items.name) - 2), '')
          || ' _ ' || coalesce((SELECT group_concat(replace(replace(substr(items.name, i, 3), '_', '_u'), ' ', '_s'), ' ')
                   FROM item_search_offsets WHERE i % 2 = 0 AND i <= length(items.name) - 2), '')
          || ' _ ' || coalesce((SELECT group_concat(replace(replace(substr(items.name, i, 4), '_', '_u'), ' ', '_s'), ' ')
                   FROM item_search_offsets WHERE i % 2 = 1 AND i <= length(items.name) - 3), '')
          || ' _ ' || coalesce((SELECT group_concat(replace(replace(substr(items.name, i, 4), '_', '_u'), ' ', '_s'), ' ')
                   FROM item_search_offsets WHERE i % 2 = 0 AND i <= length(items.name) - 3), '')
       END,
       CASE WHEN items.description IS NULL THEN NULL ELSE
          coalesce((SELECT group_concat(replace(replace(substr(items.description, i, 3), '_', '_u'), ' ', '_s'), ' ')
                   FROM item_search_offsets WHERE i % 2 = 1 AND i <= length(items.description) - 2), '')
          || ' _ ' || coalesce((SELECT group_concat(replace(replace(substr(items.description, i, 3), '_', '_u'), ' ', '_s'), ' ')
                   FROM item_search_offsets WHERE i % 2 = 0 AND i <= length(items.description) - 2), '')
          || ' _ ' || coalesce((SELECT group_concat(replace(replace(substr(items.description, i, 4), '_', '_u'), ' ', '_s'), ' ')
                   FROM item_search_offsets WHERE i % 2 = 1 AND i <= length(items.description) - 3), '')
          || ' _ ' || coalesce((SELECT group_concat(replace(replace(substr(items.description, i, 4), '_', '_u'), ' ', '_s'), ' ')
                   FROM item_search_offsets WHERE i % 2 = 0 AND i <= length(items.description) - 3), '')
       END
FROM items;

-- Contentless: the rows are the view's, recomputed when deleting.
CREATE VIRTUAL TABLE items_search USING fts5 (
    name, description,
    content = '', columnsize = 0,
    tokenize = "unicode61 remove_diacritics 0 categories 'L* M* N* P* S* Z* C*' separators ' '"
);
INSERT INTO items_search (rowid, name, description)
SELECT id, name, description FROM item_search_text;

CREATE TRIGGER items_search_insert AFTER INSERT ON items BEGIN
    INSERT INTO items_search (rowid, name, description)
    SELECT id, name, description FROM item_search_text WHERE id = new.id;
END;
CREATE TRIGGER items_search_delete BEFORE DELETE ON items BEGIN
    INSERT INTO items_search (items_search, rowid, name, description)
    SELECT 'delete', id, name, description FROM item_search_text WHERE id = old.id;
END;
CREATE TRIGGER items_search_update_old BEFORE UPDATE OF name, description ON items BEGIN
    INSERT INTO items_search (items_search, rowid, name, description)
    SELECT 'delete', id, name, description FROM item_search_text WHERE id = old.id;
END;
CREATE TRIGGER items_search_update_new AFTER UPDATE OF name, description ON items BEGIN
    INSERT INTO items_search (rowid, name, description)
    SELECT id, name, description FROM item_search_text WHERE id = new.id;
END;

DROP TRIGGER items_fts_insert;
DROP TRIGGER items_fts_delete;
DROP TRIGGER items_fts_update;
DROP TABLE items_fts;
