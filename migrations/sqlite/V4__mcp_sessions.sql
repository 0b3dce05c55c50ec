-- Sessions of both doors: REST (`/api/v1/mcp/session`) and `/mcp`.
CREATE TABLE mcp_sessions (
    id                TEXT    NOT NULL PRIMARY KEY,
    user_id           TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    surface           TEXT    NOT NULL CHECK (surface IN ('rest', 'mcp')),
    protocol_version  TEXT,
    client_info       TEXT,
    context           TEXT    NOT NULL DEFAULT '{}',
    context_version   INTEGER NOT NULL DEFAULT 0,
    tool_usage_count  INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT    NOT NULL,
    last_activity_at  TEXT    NOT NULL,
    expires_at        TEXT    NOT NULL,
    closed_at         TEXT
);
CREATE INDEX mcp_sessions_user_idx ON mcp_sessions (user_id, created_at);
CREATE INDEX mcp_sessions_open_expiry_idx ON mcp_sessions (expires_at) WHERE closed_at IS NULL;
