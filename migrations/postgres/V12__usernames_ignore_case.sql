-- Usernames are unique whatever their case: `ADMIN` cannot register beside
-- `admin`. Accounts that already clash must be renamed first; the error
-- names them.
DO $$
DECLARE
    clashes text;
BEGIN
    SELECT string_agg(names, '; ') INTO clashes
    FROM (SELECT string_agg(username, ', ' ORDER BY username) AS names
          FROM users GROUP BY lower(username) HAVING count(*) > 1) AS clashing;
    IF clashes IS NOT NULL THEN
        RAISE EXCEPTION 'usernames that differ only in case; rename all but one of each (PUT /auth/me as that user, or UPDATE users) and run the migration again: %', clashes;
    END IF;
END
$$;

CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
