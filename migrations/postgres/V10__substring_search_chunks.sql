-- SQLite's V10 replaces its trigram index with one of 3- and 4-character
-- chunks. Postgres keeps its pg_trgm GIN indexes, which filter by trigram
-- sets and recheck rows rather than line up position lists, so nothing
-- changes here; the migration exists to keep both histories numbered alike.
SELECT 1;
