//! Items: who may change or delete one, and the events REST writes of
//! item changes. The REST endpoints and the item tools both run these
//! inside their transaction and only translate the answer (404 or a
//! business failure; 403 or a denied call). A tool call is audited as the
//! call itself; a REST change writes `item_created`, `item_updated` or
//! `item_deleted` with the same arguments in its transaction, and a
//! refused one a `denied` row of its own.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::audit::{self, Actor, Event};
use crate::auth::Principal;
use crate::domain::{AuditKind, Item, ItemChanges, Permission};
use crate::error::ApiError;
use crate::service::refusals;
use crate::state::AppState;
use crate::store::{StoreError, StoreTx};

/// An item change made over REST, as its audit row names it.
#[derive(Debug, Clone, Copy)]
pub enum ItemAction {
    /// `item_created`.
    Created,
    /// `item_updated`.
    Updated,
    /// `item_deleted`.
    Deleted,
}

impl ItemAction {
    fn name(self) -> &'static str {
        match self {
            ItemAction::Created => "item_created",
            ItemAction::Updated => "item_updated",
            ItemAction::Deleted => "item_deleted",
        }
    }
}

/// The event of `principal` doing `action` with `arguments` (the fields
/// as the matching tool's row keeps them, and the item's id).
pub fn event(principal: &Principal, action: ItemAction, arguments: Value) -> Event {
    Event::new(
        AuditKind::Admin,
        action.name(),
        Actor::principal(principal),
        arguments,
    )
}

/// Writes the event of a change in the change's own transaction, so the
/// row exists exactly when the change does.
pub async fn record_change(
    tx: &mut dyn StoreTx,
    principal: &Principal,
    action: ItemAction,
    arguments: Value,
) -> Result<(), ApiError> {
    let row = audit::entry(event(principal, action, arguments));
    tx.append_audit(&row).await?;
    Ok(())
}

/// Records a REST item change that was refused (an item of someone else's
/// the caller may not touch) and hands the refusal back.
pub async fn record_refusal(
    state: &AppState,
    principal: &Principal,
    action: ItemAction,
    id: i64,
    refusal: ItemRefusal,
) -> ApiError {
    let error = ApiError::from(refusal);
    if matches!(error, ApiError::Forbidden(_)) {
        let attempt = event(principal, action, json!({"item_id": id}));
        return refusals::denied(state, principal, attempt, error).await;
    }
    error
}

/// Why an item change did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ItemRefusal {
    /// No item has this id.
    #[error("item {0} not found")]
    NotFound(i64),
    /// The caller may not do this to this item.
    #[error("{0}")]
    NotAllowed(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ItemRefusal> for ApiError {
    fn from(refusal: ItemRefusal) -> Self {
        match refusal {
            ItemRefusal::NotFound(_) => Self::NotFound(refusal.to_string()),
            ItemRefusal::NotAllowed(why) => Self::Forbidden(why.into()),
            ItemRefusal::Store(e) => e.into(),
        }
    }
}

/// Applies `changes` to item `id` in `tx`: its owner or an admin may.
pub async fn update(
    tx: &mut dyn StoreTx,
    principal: &Principal,
    id: i64,
    changes: &ItemChanges,
    now: DateTime<Utc>,
) -> Result<Item, ItemRefusal> {
    let item = tx
        .item_for_update(id)
        .await?
        .ok_or(ItemRefusal::NotFound(id))?;
    if item.owner_id != principal.user.id && !principal.has(Permission::DeleteItems) {
        return Err(ItemRefusal::NotAllowed(
            "only the item's owner or a holder of delete:items may update it",
        ));
    }
    tx.update_item(id, changes, now)
        .await?
        .ok_or(ItemRefusal::NotFound(id))
}

/// Deletes item `id` in `tx` and returns what it was: its owner (who may
/// write items) or a holder of `delete:items` may.
pub async fn delete(
    tx: &mut dyn StoreTx,
    principal: &Principal,
    id: i64,
) -> Result<Item, ItemRefusal> {
    let item = tx
        .item_for_update(id)
        .await?
        .ok_or(ItemRefusal::NotFound(id))?;
    let owner = item.owner_id == principal.user.id && principal.has(Permission::WriteItems);
    if !owner && !principal.has(Permission::DeleteItems) {
        return Err(ItemRefusal::NotAllowed(
            "only the item's owner or a holder of delete:items may delete it",
        ));
    }
    if !tx.delete_item(id).await? {
        return Err(ItemRefusal::NotFound(id));
    }
    Ok(item)
}
