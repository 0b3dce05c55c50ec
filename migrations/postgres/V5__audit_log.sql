-- The audit log: append-only and hash-chained. `arguments` is canonical JSON
-- TEXT, not jsonb (which reorders keys), so verification re-reads exactly the
-- bytes that were hashed.
CREATE TABLE audit_log (
    seq          BIGINT      NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at  TIMESTAMPTZ NOT NULL,
    kind         TEXT        NOT NULL CHECK (kind IN ('tool', 'auth', 'admin')),
    action       TEXT        NOT NULL,
    user_id      UUID,
    username     TEXT,
    auth_method  TEXT        CHECK (auth_method IS NULL OR auth_method IN ('bearer', 'api_key')),
    api_key_id   UUID,
    session_id   TEXT,
    surface      TEXT        NOT NULL CHECK (surface IN ('rest', 'mcp', 'cli')),
    arguments    TEXT        NOT NULL,
    outcome      TEXT        NOT NULL CHECK (outcome IN ('success', 'error', 'denied', 'invalid', 'not_found', 'rate_limited')),
    error        TEXT,
    duration_ms  BIGINT      NOT NULL,
    request_id   TEXT,
    client_addr  TEXT,
    prev_hash    TEXT        NOT NULL,
    hash         TEXT        NOT NULL
);
CREATE INDEX audit_log_occurred_idx ON audit_log (occurred_at);
CREATE INDEX audit_log_user_idx ON audit_log (user_id, occurred_at);
CREATE INDEX audit_log_action_idx ON audit_log (action, occurred_at);
CREATE INDEX audit_log_session_idx ON audit_log (session_id);

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
