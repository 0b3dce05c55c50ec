//! Items: who may change or delete one. The REST endpoints and the item
//! tools both run these inside their transaction and only translate the
//! answer (404 or a business failure; 403 or a denied call).

use chrono::{DateTime, Utc};

use crate::auth::Principal;
use crate::domain::{Item, ItemChanges, Permission, Role};
use crate::error::ApiError;
use crate::store::{StoreError, StoreTx};

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
    let me = &principal.user;
    if item.owner_id != me.id && me.role != Role::Admin {
        return Err(ItemRefusal::NotAllowed(
            "only the item's owner or an admin may update it",
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
