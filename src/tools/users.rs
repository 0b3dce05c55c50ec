//! `manage_users`: list, create, update and deactivate accounts.

use async_trait::async_trait;
use rand::RngExt;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::registry::{Annotations, ToolCategory, ToolSpec, object, spec};
use super::{
    BoxFuture, Change, ChangeScope, Plan, ToolCall, ToolFailure, ToolFn, ToolResult, parse_args,
};
use crate::audit::{self, Actor, Event};
use crate::domain::credentials::{Email, Username, parse_full_name};
use crate::domain::user::SELF_LOCKOUT;
use crate::domain::validation::FieldErrors;
use crate::domain::{Permission, Role, User, time};
use crate::service::accounts;
use crate::store::{NewUser, StoreError, StoreTx, UserChanges};
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
/// change they describe, stamped with the call's origin.
async fn record(
    scope: &ChangeScope<'_>,
    tx: &mut dyn StoreTx,
    events: Vec<Event>,
) -> Result<(), ToolFailure> {
    for event in events {
        tx.append_audit(&audit::entry_stamped(event, scope.origin.stamp()))
            .await?;
    }
    Ok(())
}

fn run<'a>(ctx: &'a ToolCall<'a>, args: Value) -> BoxFuture<'a, Result<Plan, ToolFailure>> {
    Box::pin(async move {
        let args: Args = parse_args(args)?;
        match args.action.as_str() {
            "list" => list(ctx, &args).await.map(Plan::Answer),
            "create" => prepare_create(ctx, args.user_data).await,
            "update" | "deactivate" => prepare_update(ctx, args).await,
            other => Err(ToolFailure::Business(format!("unknown action {other:?}"))),
        }
    })
}

/// `list`: a page of accounts, read outside any write.
async fn list(ctx: &ToolCall<'_>, args: &Args) -> ToolResult {
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

/// `create`: parses every field and hashes the password (or a generated
/// one) before the transaction begins.
async fn prepare_create(ctx: &ToolCall<'_>, data: UserData) -> Result<Plan, ToolFailure> {
    let generated = data.password.is_none().then(temporary_password);
    let fields = accounts::AccountFields {
        username: data.username.as_deref().unwrap_or_default(),
        email: data.email.as_deref().unwrap_or_default(),
        password: data
            .password
            .as_deref()
            .or(generated.as_deref())
            .unwrap_or_default(),
        full_name: data.full_name.as_deref(),
        role: data.role.unwrap_or(Role::User),
    };
    let new = accounts::new_user(&ctx.state.passwords, fields).await?;
    Ok(Plan::Change(Box::new(CreateUser { new, generated })))
}

/// An account to insert, and the temporary password to hand back once.
struct CreateUser {
    new: NewUser,
    generated: Option<String>,
}

#[async_trait]
impl Change for CreateUser {
    async fn apply(self: Box<Self>, scope: &ChangeScope<'_>, tx: &mut dyn StoreTx) -> ToolResult {
        let user = tx.create_user(&self.new, time::now()).await?;
        let event = accounts::user_created(&user, Actor::principal(scope.principal));
        record(scope, tx, vec![event]).await?;
        let mut answer = json!({
            "action": "create_user",
            "user": user_json(&user),
            "message": format!("User '{}' created successfully", user.username),
        });
        if let Some(password) = self.generated {
            answer["temporary_password"] = json!(password);
        }
        Ok(answer)
    }
}

/// `update` and `deactivate`: parses the changes and reads the account as
/// it is (for the events) before the transaction begins.
async fn prepare_update(ctx: &ToolCall<'_>, args: Args) -> Result<Plan, ToolFailure> {
    let id = args
        .user_id
        .ok_or_else(|| ToolFailure::Business("user_id is required".into()))?;
    let deactivate = args.action == "deactivate";
    let data = args.user_data;
    let me = &ctx.principal.user;
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
    let before = ctx
        .state
        .store
        .user_by_id(id)
        .await?
        .ok_or_else(|| user_not_found(id))?;
    Ok(Plan::Change(Box::new(UpdateUser {
        before,
        changes,
        deactivate,
    })))
}

fn user_not_found(id: Uuid) -> ToolFailure {
    ToolFailure::Business(format!("user {id} not found"))
}

/// Changes to an account, with the account as it was.
struct UpdateUser {
    before: User,
    changes: UserChanges,
    deactivate: bool,
}

#[async_trait]
impl Change for UpdateUser {
    async fn apply(self: Box<Self>, scope: &ChangeScope<'_>, tx: &mut dyn StoreTx) -> ToolResult {
        let id = self.before.id;
        let user = tx
            .update_user(id, &self.changes, time::now())
            .await
            .map_err(|e| match e {
                StoreError::NotFound => user_not_found(id),
                other => other.into(),
            })?;
        let actor = Actor::principal(scope.principal);
        let events = accounts::user_changed(&self.before, &user, &self.changes, actor);
        record(scope, tx, events).await?;
        let (action, verb) = if self.deactivate {
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
}
