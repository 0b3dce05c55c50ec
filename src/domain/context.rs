//! Session context: a JSON object an agent keeps in its session. Writes
//! replace it or merge into it (JSON merge patch, RFC 7396), and the result
//! must stay an object within the configured size.

use serde_json::Value;

/// A requested change to a context.
#[derive(Debug, Clone)]
pub enum ContextChange {
    /// Replace the whole object.
    Replace(Value),
    /// Merge into it (RFC 7396: `null` removes a key).
    Merge(Value),
}

/// Why a change cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    /// The context (or a replacement) must be a JSON object.
    #[error("the context must be a JSON object")]
    NotAnObject,
    /// The result would be larger than allowed.
    #[error("the context would be {size} bytes, over the limit of {limit}")]
    TooLarge {
        /// Bytes of the result.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

/// Applies `change` to the stored text of a context; returns the new
/// object's compact JSON text.
pub fn apply(stored: &str, change: ContextChange, limit: usize) -> Result<String, ContextError> {
    let updated = match change {
        ContextChange::Replace(value) => value,
        ContextChange::Merge(patch) => {
            let mut current: Value =
                serde_json::from_str(stored).unwrap_or_else(|_| Value::Object(Default::default()));
            json_patch::merge(&mut current, &patch);
            current
        }
    };
    if !updated.is_object() {
        return Err(ContextError::NotAnObject);
    }
    let text = updated.to_string();
    if text.len() > limit {
        return Err(ContextError::TooLarge {
            size: text.len(),
            limit,
        });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merges_replaces_and_bounds() {
        let merged = apply(
            r#"{"a":1,"b":{"c":2}}"#,
            ContextChange::Merge(json!({"b": {"c": null, "d": 3}, "e": "x"})),
            1000,
        )
        .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&merged).unwrap(),
            json!({"a": 1, "b": {"d": 3}, "e": "x"})
        );
        assert_eq!(
            apply("{}", ContextChange::Replace(json!([1])), 1000),
            Err(ContextError::NotAnObject)
        );
        assert_eq!(
            apply("{}", ContextChange::Merge(json!(5)), 1000),
            Err(ContextError::NotAnObject)
        );
        assert!(matches!(
            apply(
                "{}",
                ContextChange::Replace(json!({"k": "x".repeat(100)})),
                50
            ),
            Err(ContextError::TooLarge { .. })
        ));
    }
}
