//! `aiapi users`: account administration without a running server.

use std::io::{BufRead, IsTerminal, Write};

use clap::{Args, Subcommand};

use super::{CliError, open_store, quiet_settings};
use serde_json::json;

use crate::audit::{self, Actor, Event};
use crate::auth::password::Passwords;
use crate::domain::credentials::Password;
use crate::domain::{AuditKind, Role, User, time};
use crate::service::accounts;
use crate::store::{Store, UserChanges};

/// Options of `aiapi users`.
#[derive(Debug, Args)]
pub struct UsersArgs {
    #[command(subcommand)]
    command: UsersCommand,
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Create an account; the password is read from standard input.
    Create {
        /// Login name.
        username: String,
        /// Email address.
        #[arg(long)]
        email: String,
        /// Role: admin, user, ai_agent, readonly or auditor.
        #[arg(long, default_value = "user")]
        role: String,
        /// Display name.
        #[arg(long)]
        full_name: Option<String>,
    },
    /// Set a password (read from standard input); ends every token of the user.
    SetPassword {
        /// Login name.
        username: String,
    },
    /// Change a role. The last active admin cannot be demoted.
    SetRole {
        /// Login name.
        username: String,
        /// admin, user, ai_agent, readonly or auditor.
        role: String,
    },
    /// Deactivate an account; its tokens and keys stop working at once.
    Deactivate {
        /// Login name.
        username: String,
    },
    /// Reactivate an account.
    Activate {
        /// Login name.
        username: String,
    },
    /// List accounts.
    List {
        /// How many.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// How many to skip.
        #[arg(long, default_value_t = 0)]
        offset: i64,
    },
}

/// Runs a `users` subcommand.
pub async fn run(args: UsersArgs) -> Result<(), CliError> {
    let common = quiet_settings()?;
    let store = open_store(&common).await?;
    // Operators may run this before the first `serve`: bring the schema up first.
    let result = match store.migrate().await {
        Ok(_) => execute(store.as_ref(), args.command).await,
        Err(e) => Err(e.into()),
    };
    store.close().await;
    result
}

async fn execute(store: &dyn Store, command: UsersCommand) -> Result<(), CliError> {
    match command {
        UsersCommand::Create {
            username,
            email,
            role,
            full_name,
        } => create(store, &username, &email, &role, full_name.as_deref()).await,
        UsersCommand::SetPassword { username } => set_password(store, &username).await,
        UsersCommand::SetRole { username, role } => {
            let role = parse_role(&role)?;
            let changes = UserChanges {
                role: Some(role),
                ..Default::default()
            };
            let user = update(store, &username, changes).await?;
            println!("{} now has role {}", user.username, user.role);
            Ok(())
        }
        UsersCommand::Deactivate { username } => {
            let changes = UserChanges {
                is_active: Some(false),
                ..Default::default()
            };
            update(store, &username, changes).await?;
            println!("{username} deactivated");
            Ok(())
        }
        UsersCommand::Activate { username } => {
            let changes = UserChanges {
                is_active: Some(true),
                ..Default::default()
            };
            update(store, &username, changes).await?;
            println!("{username} activated");
            Ok(())
        }
        UsersCommand::List { limit, offset } => list(store, limit, offset).await,
    }
}

/// `users create`: the password comes from standard input.
async fn create(
    store: &dyn Store,
    username: &str,
    email: &str,
    role: &str,
    full_name: Option<&str>,
) -> Result<(), CliError> {
    let role = parse_role(role)?;
    let password = read_password(&format!("password for {username}: "))?;
    let fields = accounts::AccountFields {
        username,
        email,
        password: password.expose(),
        full_name,
        role,
    };
    let new = accounts::new_user(&Passwords::with_threads(1), fields)
        .await
        .map_err(api)?;
    let user = store
        .create_user(&new, time::now())
        .await
        .map_err(store_err)?;
    audit::record(store, accounts::user_created(&user, Actor::system())).await?;
    println!(
        "created {} ({}, role {})",
        user.username, user.id, user.role
    );
    Ok(())
}

/// `users set-password`: ends every token of the user.
async fn set_password(store: &dyn Store, username: &str) -> Result<(), CliError> {
    let user = find(store, username).await?;
    let password = read_password(&format!("new password for {username}: "))?;
    let hash = Passwords::with_threads(1)
        .hash(password.expose())
        .await
        .map_err(api)?;
    store
        .set_password(user.id, &hash, time::now())
        .await
        .map_err(store_err)?;
    let details = json!({"user_id": user.id, "username": user.username});
    audit::record(
        store,
        Event::new(AuditKind::Admin, "password_set", Actor::system(), details),
    )
    .await?;
    println!("password of {username} changed; their tokens no longer work");
    Ok(())
}

/// `users list`: a page of accounts as a table.
async fn list(store: &dyn Store, limit: i64, offset: i64) -> Result<(), CliError> {
    let (users, total) = store
        .list_users(limit.clamp(1, 10_000), offset.max(0))
        .await
        .map_err(store_err)?;
    println!(
        "{:<36}  {:<20}  {:<9}  {:<6}  email",
        "id", "username", "role", "active"
    );
    for u in &users {
        println!(
            "{:<36}  {:<20}  {:<9}  {:<6}  {}",
            u.id,
            u.username,
            u.role.as_str(),
            u.is_active,
            u.email
        );
    }
    println!("{} of {total} users", users.len());
    Ok(())
}

async fn update(store: &dyn Store, username: &str, changes: UserChanges) -> Result<User, CliError> {
    let before = find(store, username).await?;
    let after = store
        .update_user(before.id, &changes, time::now())
        .await
        .map_err(store_err)?;
    for event in accounts::user_changed(&before, &after, &changes, Actor::system()) {
        audit::record(store, event).await?;
    }
    Ok(after)
}

/// The user named `username`, or an error saying there is none.
pub async fn find(store: &dyn Store, username: &str) -> Result<User, CliError> {
    store
        .user_by_username(username)
        .await?
        .ok_or_else(|| CliError::Other(format!("no user named {username:?}")))
}

fn parse_role(raw: &str) -> Result<Role, CliError> {
    raw.parse().map_err(|e| CliError::Other(format!("{e}")))
}

/// Reads a password from the first line of standard input (prompting on a terminal).
fn read_password(prompt: &str) -> Result<Password, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    let read = stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Other(format!("cannot read the password: {e}")))?;
    if read == 0 {
        return Err(CliError::Other(
            "no password given on standard input (pipe one in: echo '...' | aiapi users ...)"
                .into(),
        ));
    }
    let password = line.trim_end_matches(['\r', '\n']);
    Password::parse(password, "password").map_err(invalid)
}

fn invalid(e: crate::domain::validation::FieldError) -> CliError {
    CliError::Other(format!("{} {}", e.field, e.message))
}

fn api(e: crate::error::ApiError) -> CliError {
    CliError::Other(e.to_string())
}

/// Conflicts read as the API words them; other failures keep their detail for the operator.
pub fn store_err(e: crate::store::StoreError) -> CliError {
    match e {
        crate::store::StoreError::Conflict { .. } => api(e.into()),
        other => CliError::Store(other),
    }
}
