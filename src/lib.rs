//! `aiapi`: an item catalogue and its users, served to people and AI models
//! through a REST API and an MCP server, on SQLite or PostgreSQL.
//!
//! A tour of the modules:

/// The REST API: one file per resource, assembled into one OpenAPI
/// service; handlers translate HTTP to the service layer and back.
pub mod api;
/// Routes, middleware (request ids, body limit, JSON errors, CORS) and serving.
pub mod app;
/// The audit log as a product: events, export, chain verification.
pub mod audit;
/// Authentication: passwords, tokens, API keys, throttling, the principal.
pub mod auth;
/// The `aiapi` command line and its subcommands.
pub mod cli;
/// Typed settings from the environment, with secrets redacted.
pub mod config;
/// Plain business types: users, roles, permissions, time.
pub mod domain;
/// The one API error type: every failure status and JSON body.
pub mod error;
/// Outbound HTTP: bounded fetches of documents clients name by URL.
pub mod fetch;
/// Periodic housekeeping: pruning expired revocations.
pub mod maintenance;
/// The `/mcp` door: the Streamable HTTP transport and the MCP handler over
/// [`tools`].
pub mod mcp;
/// Prometheus metrics.
pub mod metrics;
/// Refuses NUL characters in requests, which Postgres cannot store.
pub mod nul_guard;
/// The OAuth 2.1 authorization server's endpoints, in their RFCs' shapes.
pub mod oauth;
/// Owner-only files: the data directory, the database, the secret.
pub mod private_files;
/// The request being served (id, client address, door) and the body reader.
pub mod request;
/// The business rules, once, for every door: accounts (login, user
/// changes and their events), items (ownership), sessions, session context.
pub mod service;
/// The accept loop: connection timeouts and caps, graceful shutdown.
pub mod serving;
/// Checks that must pass before the server starts.
pub mod startup;
/// State shared by every request handler.
pub mod state;
/// Persistence: the `Store` trait, its SQLite and Postgres implementations, migrations.
pub mod store;
/// The tracing subscriber.
pub mod telemetry;
/// The tool system both tool doors (`/api/v1/mcp/execute` and `/mcp`)
/// share: registry, executor, tool bodies.
pub mod tools;
/// The views of items and users every door shows.
pub mod views;
/// Server-rendered pages (the OAuth flow's sign-in and consent).
pub mod web;
