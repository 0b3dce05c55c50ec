-- Widens the audit log's vocabularies to what the next features record, in
-- one step, because on SQLite a CHECK constraint changes only by rebuilding
-- the table: surfaces `system` (housekeeping) and `console`; outcomes
-- `cancelled` and `declined`; auth methods `oauth` and `session` (a browser
-- sign-in); and three nullable columns. A NULL in a new column is left out
-- of a row's hash, so every existing chain still verifies.
--
-- DROP TABLE removes the append-only triggers before its implicit delete,
-- so they do not fire; they are created again on the new table. Rows are
-- copied with their `seq`, and AUTOINCREMENT keeps counting from the
-- highest one.
CREATE TABLE audit_log_widened (
    seq               INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    occurred_at       TEXT    NOT NULL,
    kind              TEXT    NOT NULL CHECK (kind IN ('tool', 'auth', 'admin')),
    action            TEXT    NOT NULL,
    user_id           TEXT,
    username          TEXT,
    auth_method       TEXT    CHECK (auth_method IS NULL OR auth_method IN ('bearer', 'api_key', 'oauth', 'session')),
    api_key_id        TEXT,
    session_id        TEXT,
    surface           TEXT    NOT NULL CHECK (surface IN ('rest', 'mcp', 'cli', 'system', 'console')),
    arguments         TEXT    NOT NULL,
    outcome           TEXT    NOT NULL CHECK (outcome IN ('success', 'error', 'denied', 'invalid', 'not_found', 'rate_limited', 'cancelled', 'declined')),
    error             TEXT,
    duration_ms       INTEGER NOT NULL,
    request_id        TEXT,
    client_addr       TEXT,
    prev_hash         TEXT    NOT NULL,
    hash              TEXT    NOT NULL,
    approval_id       TEXT,
    oauth_client_id   TEXT,
    client_request_id TEXT
);
INSERT INTO audit_log_widened (seq, occurred_at, kind, action, user_id, username, auth_method,
                               api_key_id, session_id, surface, arguments, outcome, error,
                               duration_ms, request_id, client_addr, prev_hash, hash)
SELECT seq, occurred_at, kind, action, user_id, username, auth_method, api_key_id, session_id,
       surface, arguments, outcome, error, duration_ms, request_id, client_addr, prev_hash, hash
FROM audit_log ORDER BY seq;
DROP TABLE audit_log;
ALTER TABLE audit_log_widened RENAME TO audit_log;

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
