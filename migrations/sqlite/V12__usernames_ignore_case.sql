-- Usernames are unique whatever their case: `ADMIN` cannot register beside
-- `admin`. SQLite cannot raise an error naming accounts that already clash,
-- so the store looks for them before this runs and refuses, naming them
-- (store/sqlite/migration_checks.rs).
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
