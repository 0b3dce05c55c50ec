-- The item catalogue. Money is exact: integer minor units (cents).
CREATE TABLE items (
    id           INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description  TEXT             CHECK (description IS NULL OR length(description) <= 500),
    price_cents  INTEGER NOT NULL CHECK (price_cents > 0),
    tax_cents    INTEGER          CHECK (tax_cents IS NULL OR tax_cents >= 0),
    category     TEXT,
    owner_id     TEXT    NOT NULL REFERENCES users (id),
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL
);
CREATE INDEX items_category_idx ON items (category);
CREATE INDEX items_price_idx ON items (price_cents);
CREATE INDEX items_created_at_idx ON items (created_at);
CREATE INDEX items_owner_idx ON items (owner_id);

-- Case-insensitive substring search over name and description: an external
-- content FTS5 table with the trigram tokenizer, kept in step by triggers.
CREATE VIRTUAL TABLE items_fts USING fts5 (
    name, description,
    content = 'items', content_rowid = 'id',
    tokenize = 'trigram case_sensitive 0'
);
CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
    INSERT INTO items_fts (rowid, name, description) VALUES (new.id, new.name, new.description);
END;
CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, name, description) VALUES ('delete', old.id, old.name, old.description);
END;
CREATE TRIGGER items_fts_update AFTER UPDATE OF name, description ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, name, description) VALUES ('delete', old.id, old.name, old.description);
    INSERT INTO items_fts (rowid, name, description) VALUES (new.id, new.name, new.description);
END;
