-- The clients of the OAuth authorization server: registered dynamically
-- (RFC 7591) or from the CLI, so that every replica knows them. The id is
-- the client_id; a confidential client's secret is stored as its SHA-256
-- only. redirect_uris is a JSON array of the exact URIs registered.
CREATE TABLE oauth_clients (
    id             TEXT        NOT NULL PRIMARY KEY,
    name           TEXT        NOT NULL,
    redirect_uris  TEXT        NOT NULL,
    secret_hash    TEXT,
    source         TEXT        NOT NULL CHECK (source IN ('registered', 'cli')),
    client_uri     TEXT,
    scopes         TEXT,
    created_at     TIMESTAMPTZ NOT NULL,
    disabled_at    TIMESTAMPTZ
);
CREATE INDEX oauth_clients_created_at_idx ON oauth_clients (created_at);
