//! The `--help` text of every environment variable.

/// Names and meanings of every environment variable, shown by `--help`.
pub const ENVIRONMENT_HELP: &str = "\
Environment variables (flags win over them):
  DATABASE_URL                  sqlite:<path> or postgres://user:pass@host/db
                                [default: sqlite://<AIAPI_DATA_DIR>/aiapi.db?mode=rwc]
  AIAPI_BIND                    address to listen on [default: 127.0.0.1:8000]
  AIAPI_DATA_DIR                directory for the SQLite file and the development
                                JWT secret [default: ./data]
  AIAPI_JWT_SECRET              HS256 signing secret (required in production; at
                                least 32 bytes)
  AIAPI_JWT_PREVIOUS_SECRETS    comma-separated secrets replaced by a rotation; they
                                verify tokens and never sign [default: none]
  AIAPI_ENV                     development | production [default: development]
  AIAPI_LOG                     tracing filter, e.g. info or aiapi=debug [default: info]
  AIAPI_LOG_FORMAT              text | json [default: text]
  AIAPI_PUBLIC_URL              externally visible base URL [default: http://<bind>]
  AIAPI_TRUSTED_PROXIES         comma-separated proxy IPs whose X-Forwarded-For is
                                believed [default: none]
  AIAPI_ALLOWED_HOSTS           comma-separated Host values accepted on /mcp
                                [default: localhost,127.0.0.1,[::1] with any port]
  AIAPI_ALLOWED_ORIGINS         comma-separated browser origins allowed by CORS and
                                /mcp [default: none]
  AIAPI_MAX_BODY_BYTES          largest accepted request body [default: 1048576]
  AIAPI_MAX_HEADER_BYTES        largest request head, at least 8192 [default: 65536]
  AIAPI_HEADER_READ_SECS        time a request's headers may take [default: 10]
  AIAPI_BODY_READ_SECS          time a request's body may take (then 408) [default: 30]
  AIAPI_KEEP_ALIVE_SECS         idle kept-alive connections close after this; SSE
                                streams are exempt [default: 60]
  AIAPI_MAX_CONNECTIONS         open connections in all [default: 1024]
  AIAPI_MAX_CONNECTIONS_PER_ADDR
                                open connections per client address (trusted
                                proxies exempt) [default: 64]
  AIAPI_DB_MAX_CONNECTIONS      database pool size (on SQLite: readers; writes
                                use one connection of their own)
                                [default: 10; SQLite: 2 per core, 2 to 10]
  AIAPI_DB_TIMEOUT_SECS         wait for a database connection before answering 503
                                [default: 5]
  AIAPI_SHUTDOWN_GRACE_SECS     time in-flight requests get on SIGTERM [default: 30]
  AIAPI_ACCESS_TOKEN_MINUTES    access token lifetime [default: 30]
  AIAPI_REFRESH_TOKEN_DAYS      refresh token lifetime [default: 7]
  AIAPI_LOGIN_MAX_FAILURES      failed logins of one username (from one address) that
                                throttle it [default: 5]
  AIAPI_LOGIN_MAX_FAILURES_PER_ADDR
                                failed logins from one address that lock it [default: 1000]
  AIAPI_LOGIN_LOCKOUT_SECS      counting window and lock duration [default: 900]
  AIAPI_SESSION_IDLE_SECS       sessions close after this long without a call [default: 1800]
  AIAPI_SESSION_CONTEXT_MAX_BYTES
                                largest session context object [default: 65536]
  AIAPI_MAX_SESSIONS_PER_USER   open sessions one user may hold [default: 100]
  AIAPI_REGISTRATION            open | off (only admins create accounts) [default: open]
  AIAPI_REGISTRATIONS_PER_ADDR  registration attempts per address per hour [default: 20]
  AIAPI_OAUTH_REGISTRATION      open | admin (manage:users only) | off: dynamic OAuth
                                client registration [default: open]
  AIAPI_OAUTH_REGISTRATIONS_PER_ADDR
                                OAuth client registrations per address per hour
                                [default: 10]
  AIAPI_OAUTH_CLIENT_DOCUMENTS  on | off: accept a client_id that is the https URL
                                of a client metadata document [default: on]
  AIAPI_OAUTH_DOCUMENT_PRIVATE_ADDRS
                                refuse | allow fetching those documents from
                                private addresses (loopback is allowed in
                                development) [default: refuse]
  AIAPI_API_KEY_DAYS            lifetime of a key made without one [default: 90]
  AIAPI_API_KEY_NEVER_EXPIRE    allow | refuse keys that never expire [default: refuse]
  AIAPI_METRICS                 1: serve /metrics to anyone; otherwise it needs
                                read:audit [default: 0]
  AIAPI_TOOL_RATE_LIMITS        tool calls per minute per user, by role, e.g.
                                user=120,ai_agent=600 (0: unlimited) [default: 6000 each]";
