-- Clients known by a Client ID Metadata Document: the client_id is the
-- document's https URL, and the row is the server's copy of what the
-- document said when it was last fetched.
ALTER TABLE oauth_clients DROP CONSTRAINT oauth_clients_source_check;
ALTER TABLE oauth_clients ADD CONSTRAINT oauth_clients_source_check
    CHECK (source IN ('registered', 'cli', 'document'));
