//! The MCP revisions whose differences the door handles. Revisions are
//! dates, so they order as strings.

/// What a request without `MCP-Protocol-Version` speaks (the transport spec).
pub const UNNAMED: &str = "2025-03-26";

/// The first revision whose clients expect the SSE priming event and take
/// invalid tool arguments as a tool result.
pub const PRIMED: &str = "2025-11-25";

/// The stateless revision: no sessions, no `logging/setLevel`, caching hints.
pub const STATELESS: &str = "2026-07-28";

/// Whether `revision` is `first` or later.
pub fn at_least(revision: &str, first: &str) -> bool {
    revision >= first
}
