-- The deciles of price_distribution walk the window's prices in price
-- order. With created_at in the price index that walk is index-only; id
-- stays second so the listings' ORDER BY price_cents, id still needs no
-- sort. SQLite only: PostgreSQL's percentile_disc sorts by itself.
CREATE INDEX items_price_id_created_idx ON items (price_cents, id, created_at);
DROP INDEX items_price_idx;
