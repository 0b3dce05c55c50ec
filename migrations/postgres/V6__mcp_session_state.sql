-- What rmcp needs to restore an MCP session on a replica that did not
-- create it (the client's initialize parameters), as JSON text. Kept apart
-- from mcp_sessions because rmcp stores it before the session is bound to
-- its user.
CREATE TABLE mcp_session_state (
    session_id  TEXT        NOT NULL PRIMARY KEY,
    state       TEXT        NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
