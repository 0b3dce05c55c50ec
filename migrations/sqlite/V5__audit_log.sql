-- The audit log: append-only and hash-chained. `arguments` is canonical JSON
-- text (not a JSON type that could reorder keys), so verification re-reads
-- exactly the bytes that were hashed.
CREATE TABLE audit_log (
    seq          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    occurred_at  TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('tool', 'auth', 'admin')),
    action       TEXT    NOT NULL,
    user_id      TEXT,
    username     TEXT,
    auth_method  TEXT    CHECK (auth_method IS NULL OR auth_method IN ('bearer', 'api_key')),
    api_key_id   TEXT,
    session_id   TEXT,
    surface      TEXT    NOT NULL CHECK (surface IN ('rest', 'mcp', 'cli')),
    arguments    TEXT    NOT NULL,
    outcome      TEXT    NOT NULL CHECK (outcome IN ('success', 'error', 'denied', 'invalid', 'not_found', 'rate_limited')),
    error        TEXT,
    duration_ms  INTEGER NOT NULL,
    request_id   TEXT,
    client_addr  TEXT,
    prev_hash    TEXT    NOT NULL,
    hash         TEXT    NOT NULL
);
CREATE INDEX audit_log_occurred_idx ON audit_log (occurred_at);
CREATE INDEX audit_log_user_idx ON audit_log (user_id, occurred_at);
CREATE INDEX audit_log_action_idx ON audit_log (action, occurred_at);
CREATE INDEX audit_log_session_idx ON audit_log (session_id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
