-- The same index as on SQLite, where the deciles of price_distribution walk
-- it in price order. Here percentile_disc sorts by itself, but with id second
-- the listings' ORDER BY price_cents, id reads the index in order.
CREATE INDEX items_price_id_created_idx ON items (price_cents, id, created_at);
DROP INDEX items_price_idx;
