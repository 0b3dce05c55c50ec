-- Widens the audit log's vocabularies to what the next features record, in
-- one step, as on SQLite (where it needs a rebuild): surfaces `system`
-- (housekeeping) and `console`; outcomes `cancelled` and `declined`; auth
-- methods `oauth` and `session` (a browser sign-in); and three nullable
-- columns. A NULL in a new column is left out of a row's hash, so every
-- existing chain still verifies. Changing constraints and adding NULL
-- columns touches no row, so the append-only triggers stay silent.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_auth_method_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_auth_method_check
    CHECK (auth_method IS NULL OR auth_method IN ('bearer', 'api_key', 'oauth', 'session'));
ALTER TABLE audit_log DROP CONSTRAINT audit_log_surface_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_surface_check
    CHECK (surface IN ('rest', 'mcp', 'cli', 'system', 'console'));
ALTER TABLE audit_log DROP CONSTRAINT audit_log_outcome_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_outcome_check
    CHECK (outcome IN ('success', 'error', 'denied', 'invalid', 'not_found', 'rate_limited', 'cancelled', 'declined'));
ALTER TABLE audit_log ADD COLUMN approval_id UUID;
ALTER TABLE audit_log ADD COLUMN oauth_client_id TEXT;
ALTER TABLE audit_log ADD COLUMN client_request_id TEXT;
