//! The audit log as a product: recording security and admin events, export
//! formats, and verification of the hash chain. Tool calls are recorded by
//! [`crate::tools::executor`], in the same transaction as their effects.

pub mod events;
pub mod export;
pub mod verify;

pub use events::{Actor, Event, Stamp, entry, entry_stamped, record, record_stamped};
pub use verify::{Verification, verify_chain};
