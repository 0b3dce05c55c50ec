//! `manage_users`: list, create, update and deactivate accounts.

use rand::RngExt;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::registry::{Annotations, ToolCategory, ToolSpec, object, spec};
use super::{BoxFuture, ToolCall, ToolFailure, ToolFn, ToolResult, parse_args};
use crate::audit::{self, Actor, Event};
use crate::domain::credentials::{Email, Password, Username, parse_full_name};
use crate::domain::user::SELF_LOCKOUT;
use crate::domain::validation::FieldErrors;
use crate::domain::{Permission, Role, User, time};
use crate::service::accounts;
use crate::store::{NewUser, StoreTx, UserChanges};
use crate::views::UserOut;

fn user_json(user: &User) -> Value {
    serde_json::to_value(UserOut::from(user)).unwrap_or(Value::Null)
}

/// `manage_users`.
pub(super) fn manage_users() -> ToolSpec {
    let roles = json!(["admin", "user", "ai_agent", "readonly", "auditor"]);
    spec(
        "manage_users",
        "Manage users",
        "Administer accounts: list (limit/offset), create (user_data with username, email, \
         optional role, full_name and password; without a password a temporary one is \
         generated and returned once), update (user_id and user_data with role, is_active, \
         full_name or email) and deactivate (user_id; the user's tokens stop working).",
        ToolCategory::Admin,
        &[Permission::ManageUsers],
        Annotations {
            read_only_hint: false,
            destructive_hint: true,
            idempotent_hint: false,
        },
        {
            let mut schema = object(
                json!({
                    "action": {"type": "string", "enum": ["list", "create", "update", "deactivate"], "description": "Action to perform"},
                    "user_data": {
                        "type": "object",
                        "description": "User data (create/update)",
                        "properties": {
                            "username": {"type": "string", "minLength": 3, "maxLength": 50},
                            "email": {"type": "string", "maxLength": 254},
                            "password": {"type": "string", "minLength": 8, "maxLength": 128},
                            "full_name": {"type": "string", "maxLength": 100},
                            "role": {"type": "string", "enum": roles},
                            "is_active": {"type": "boolean"}
                        },
                        "additionalProperties": false
                    },
                    "user_id": {"type": "string", "format": "uuid", "description": "User ID (update/deactivate)"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
                    "offset": {"type": "integer", "minimum": 0, "default": 0}
                }),
                &["action"],
            );
            schema["allOf"] = json!([
                {"if": {"properties": {"action": {"const": "create"}}},
                 "then": {"required": ["user_data"], "properties": {"user_data": {"required": ["username", "email"]}}}},
                {"if": {"properties": {"action": {"const": "update"}}},
                 "then": {"required": ["user_id", "user_data"]}},
                {"if": {"properties": {"action": {"const": "deactivate"}}},
                 "then": {"required": ["user_id"]}}
            ]);
            schema
        },
        None,
        vec![
            json!({"action": "list"}),
            json!({"action": "create", "user_data": {"username": "newuser", "email": "newuser@example.com", "role": "user"}}),
        ],
        ToolFn::Write(run),
    )
}

#[derive(Deserialize, Default)]
struct UserData {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
    full_name: Option<String>,
    role: Option<Role>,
    is_active: Option<bool>,
}

#[derive(Deserialize)]
struct Args {
    action: String,
    #[serde(default)]
    user_data: UserData,
    user_id: Option<Uuid>,
    limit: Option<i64>,
    offset: Option<i64>,
}

fn temporary_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Records `events` in the call's transaction, so they commit with the
/// change they describe, stamped with the call's door.
async fn record(
    ctx: &ToolCall<'_>,
    tx: &mut dyn StoreTx,
    events: Vec<Event>,
) -> Result<(), ToolFailure> {
    for event in events {
        tx.append_audit(&audit::entry_stamped(event, ctx.call.stamp()))
            .await?;
    }
    Ok(())
}

fn run<'a>(
    ctx: &'a ToolCall<'a>,
    args: Value,
    tx: &'a mut dyn StoreTx,
) -> BoxFuture<'a, ToolResult> {
    Box::pin(async move {
        let args: Args = parse_args(args)?;
        let me = &ctx.principal.user;
        let now = time::now();
        match args.action.as_str() {
            "list" => {
                let (users, total) = ctx
                    .state
                    .store
                    .list_users(args.limit.unwrap_or(50), args.offset.unwrap_or(0))
                    .await?;
                Ok(json!({
                    "action": "list_users",
                    "total_users": total,
                    "users": users.iter().map(user_json).collect::<Vec<_>>(),
                }))
            }
            "create" => {
                let data = args.user_data;
                let mut errors = FieldErrors::default();
                let username = errors.check(Username::parse(
                    data.username.as_deref().unwrap_or_default(),
                ));
                let email = errors.check(Email::parse(data.email.as_deref().unwrap_or_default()));
                let full_name = errors.check(parse_full_name(data.full_name.as_deref()));
                let generated = data.password.is_none().then(temporary_password);
                let password = errors.check(Password::parse(
                    data.password
                        .as_deref()
                        .or(generated.as_deref())
                        .unwrap_or_default(),
                    "password",
                ));
                let (username, email, full_name, password) =
                    errors.finish((username, email, full_name, password))?;
                let new = NewUser {
                    username: username.as_str().into(),
                    email: email.as_str().into(),
                    full_name,
                    role: data.role.unwrap_or(Role::User),
                    password_hash: ctx.state.passwords.hash(password.expose()).await?,
                };
                let user = tx.create_user(&new, now).await?;
                let event = accounts::user_created(&user, Actor::principal(ctx.principal));
                record(ctx, tx, vec![event]).await?;
                let mut answer = json!({
                    "action": "create_user",
                    "user": user_json(&user),
                    "message": format!("User '{}' created successfully", user.username),
                });
                if let Some(password) = generated {
                    answer["temporary_password"] = json!(password);
                }
                Ok(answer)
            }
            "update" | "deactivate" => {
                let id = args
                    .user_id
                    .ok_or_else(|| ToolFailure::Business("user_id is required".into()))?;
                let deactivate = args.action == "deactivate";
                let data = args.user_data;
                if me.is_self_lockout(id, deactivate || data.is_active == Some(false), data.role) {
                    return Err(ToolFailure::Business(SELF_LOCKOUT.into()));
                }
                let mut errors = FieldErrors::default();
                let email = data.email.as_deref().map(|e| errors.check(Email::parse(e)));
                let username = data
                    .username
                    .as_deref()
                    .map(|u| errors.check(Username::parse(u)));
                let full_name = data
                    .full_name
                    .as_deref()
                    .map(|n| errors.check(parse_full_name(Some(n))));
                errors.finish(())?;
                let changes = if deactivate {
                    UserChanges {
                        is_active: Some(false),
                        ..UserChanges::default()
                    }
                } else {
                    UserChanges {
                        username: username.flatten().map(|u| u.as_str().to_owned()),
                        email: email.flatten().map(|e| e.as_str().to_owned()),
                        full_name: full_name.map(Option::flatten),
                        role: data.role,
                        is_active: data.is_active,
                    }
                };
                let not_found = || ToolFailure::Business(format!("user {id} not found"));
                let before = ctx
                    .state
                    .store
                    .user_by_id(id)
                    .await?
                    .ok_or_else(not_found)?;
                let user = tx
                    .update_user(id, &changes, now)
                    .await
                    .map_err(|e| match e {
                        crate::store::StoreError::NotFound => not_found(),
                        other => other.into(),
                    })?;
                let actor = Actor::principal(ctx.principal);
                record(
                    ctx,
                    tx,
                    accounts::user_changed(&before, &user, &changes, actor),
                )
                .await?;
                let (action, verb) = if deactivate {
                    (
                        "deactivate_user",
                        "deactivated; their tokens no longer work",
                    )
                } else {
                    ("update_user", "updated")
                };
                Ok(json!({
                    "action": action,
                    "user": user_json(&user),
                    "message": format!("User '{}' {verb}", user.username),
                }))
            }
            other => Err(ToolFailure::Business(format!("unknown action {other:?}"))),
        }
    })
}
