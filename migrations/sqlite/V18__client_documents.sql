-- Clients known by a Client ID Metadata Document: the client_id is the
-- document's https URL, and the row is the server's copy of what the
-- document said when it was last fetched. SQLite cannot change a CHECK in
-- place, so the table is rebuilt; the migration runs with foreign keys
-- off (the store turns them off around migrations), so the rows that
-- refer to a client are kept.
CREATE TABLE oauth_clients_v18 (
    id             TEXT NOT NULL PRIMARY KEY,
    name           TEXT NOT NULL,
    redirect_uris  TEXT NOT NULL,
    secret_hash    TEXT,
    source         TEXT NOT NULL CHECK (source IN ('registered', 'cli', 'document')),
    client_uri     TEXT,
    scopes         TEXT,
    created_at     TEXT NOT NULL,
    disabled_at    TEXT
);
INSERT INTO oauth_clients_v18
    (id, name, redirect_uris, secret_hash, source, client_uri, scopes, created_at, disabled_at)
SELECT id, name, redirect_uris, secret_hash, source, client_uri, scopes, created_at, disabled_at
FROM oauth_clients;
DROP TABLE oauth_clients;
ALTER TABLE oauth_clients_v18 RENAME TO oauth_clients;
CREATE INDEX oauth_clients_created_at_idx ON oauth_clients (created_at);
