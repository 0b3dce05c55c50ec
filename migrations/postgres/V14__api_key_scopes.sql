-- A key may carry scopes: the permissions of its owner's role it may use,
-- space-separated as OAuth writes them. NULL is a key limited by the role
-- alone, as every key made before scopes existed is.
ALTER TABLE api_keys ADD COLUMN scopes TEXT;
