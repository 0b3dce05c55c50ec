-- The tutorial's two accounts. Passwords admin123 and ai123, argon2id with
-- OWASP parameters (m=19456 KiB, t=2, p=1). `serve` warns while these hashes
-- are unchanged and refuses to start in production.
INSERT INTO users (id, username, email, full_name, role, password_hash, is_active, token_version, created_at, updated_at)
VALUES
    ('00000000-0000-4000-8000-000000000001', 'admin', 'admin@example.com', 'System Administrator', 'admin',
     '$argon2id$v=19$m=19456,t=2,p=1$aemjb7tBPNXCQu0aqoOphw$gmuxgMnv9iPlDScmVmJKag7jlLsfKRmD+4n2g+HxMgs',
     TRUE, 0, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z'),
    ('00000000-0000-4000-8000-000000000002', 'ai_agent', 'ai@example.com', 'AI Assistant', 'ai_agent',
     '$argon2id$v=19$m=19456,t=2,p=1$qCeNihAYsay1V8vMsB5hRA$NTXtOOPHc5sq4zwcF2qAal5+3gjs2D4c96r5TRVuPS0',
     TRUE, 0, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z');
