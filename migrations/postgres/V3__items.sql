-- The item catalogue. Money is exact: integer minor units (cents).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE items (
    id           BIGINT      NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         TEXT        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    description  TEXT                 CHECK (description IS NULL OR char_length(description) <= 500),
    price_cents  BIGINT      NOT NULL CHECK (price_cents > 0),
    tax_cents    BIGINT               CHECK (tax_cents IS NULL OR tax_cents >= 0),
    category     TEXT,
    owner_id     UUID        NOT NULL REFERENCES users (id),
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX items_category_idx ON items (category);
CREATE INDEX items_price_idx ON items (price_cents);
CREATE INDEX items_created_at_idx ON items (created_at);
CREATE INDEX items_owner_idx ON items (owner_id);
-- Case-insensitive substring search (ILIKE '%q%') over name and description.
CREATE INDEX items_name_trgm_idx ON items USING gin (name gin_trgm_ops);
CREATE INDEX items_description_trgm_idx ON items USING gin (description gin_trgm_ops);
