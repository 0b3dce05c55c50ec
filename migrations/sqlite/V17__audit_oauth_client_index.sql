-- Auditors filter the log by OAuth client; only rows that name one are
-- indexed, so the index costs nothing for the rest.
CREATE INDEX audit_log_oauth_client_idx ON audit_log (oauth_client_id, occurred_at)
    WHERE oauth_client_id IS NOT NULL;
