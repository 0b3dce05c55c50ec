//! The accounts the migrations seed, with the password hashes they were
//! seeded with, so the server can tell (without hashing anything) whether
//! they are still in place.

/// Username and seeded argon2id PHC string of each seeded account; these are
/// the exact strings in `migrations/*/V2__seed_accounts.sql`.
pub const SEEDED_ACCOUNTS: [(&str, &str); 2] = [
    (
        "admin",
        "$argon2id$v=19$m=19456,t=2,p=1$aemjb7tBPNXCQu0aqoOphw$gmuxgMnv9iPlDScmVmJKag7jlLsfKRmD+4n2g+HxMgs",
    ),
    (
        "ai_agent",
        "$argon2id$v=19$m=19456,t=2,p=1$qCeNihAYsay1V8vMsB5hRA$NTXtOOPHc5sq4zwcF2qAal5+3gjs2D4c96r5TRVuPS0",
    ),
];
