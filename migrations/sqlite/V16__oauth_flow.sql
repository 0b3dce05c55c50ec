-- The authorization flow's state, shared by every replica.
--
-- browser_sessions: a sign-in on the login page. The cookie holds a random
-- value; only its keyed hash is stored. It ends at idle expiry, at sign-out,
-- or when the user's token_version moves on (a password change, a logout
-- everywhere), as every token does.
CREATE TABLE browser_sessions (
    id_hash       TEXT        NOT NULL PRIMARY KEY,
    user_id       TEXT        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time     TEXT        NOT NULL,
    token_version INTEGER     NOT NULL,
    last_seen_at  TEXT        NOT NULL,
    expires_at    TEXT        NOT NULL,
    ended_at      TEXT
);
CREATE INDEX browser_sessions_expires_at_idx ON browser_sessions (expires_at);

-- oauth_consents: what a user approved for a client, remembered until
-- revoked. scopes is space-separated, NULL for every scope the role has.
CREATE TABLE oauth_consents (
    user_id     TEXT        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id   TEXT        NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scopes      TEXT,
    granted_at  TEXT        NOT NULL,
    revoked_at  TEXT,
    PRIMARY KEY (user_id, client_id)
);

-- oauth_grants: one per authorization a client holds, which is the refresh
-- family of its tokens. Revoking the grant (or disabling the client) ends
-- every token of it.
CREATE TABLE oauth_grants (
    family_id   TEXT        NOT NULL PRIMARY KEY,
    client_id   TEXT        NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id     TEXT        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes      TEXT,
    resource    TEXT        NOT NULL,
    created_at  TEXT        NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX oauth_grants_client_idx ON oauth_grants (client_id);
CREATE INDEX oauth_grants_user_idx ON oauth_grants (user_id);

-- oauth_codes: authorization codes, single-use and short-lived, bound to
-- everything the token request must repeat. Only a keyed hash of the code
-- is stored. family_id is the grant a redeemed code started, so that a
-- second redemption can revoke it.
CREATE TABLE oauth_codes (
    code_hash       TEXT        NOT NULL PRIMARY KEY,
    client_id       TEXT        NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id         TEXT        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri    TEXT        NOT NULL,
    code_challenge  TEXT        NOT NULL,
    resource        TEXT        NOT NULL,
    scopes          TEXT,
    auth_time       TEXT        NOT NULL,
    expires_at      TEXT        NOT NULL,
    used_at         TEXT,
    family_id       TEXT
);
CREATE INDEX oauth_codes_expires_at_idx ON oauth_codes (expires_at);
