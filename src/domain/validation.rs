//! Field-by-field validation: every parser at the edge reports a
//! [`FieldError`] naming its field, and [`FieldErrors`] collects them so a
//! request reports every bad field at once, then hands back the parsed
//! values.

use serde::Serialize;

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, poem_openapi::Object, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name (or JSON pointer for nested values).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// `field` is wrong because of `message`.
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// The fields of a request that did not parse, every one of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
pub struct Invalid(pub Vec<FieldError>);

/// Collects field errors so a request reports every bad field at once.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Keeps the value, or records its error and returns `None`.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    /// Records an error.
    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Every recorded error, or else the values `parsed` holds: a tuple of
    /// what [`Self::check`] returned, each then known to be there (`()`
    /// when there is nothing to hand back).
    pub fn finish<P: Parsed>(self, parsed: P) -> Result<P::Values, Invalid> {
        if !self.0.is_empty() {
            return Err(Invalid(self.0));
        }
        // Each `None` came with a recorded error, so with none recorded
        // every value is there; a caller that skipped `check` gets this.
        parsed
            .values()
            .ok_or_else(|| Invalid(vec![FieldError::new("body", "a field is missing")]))
    }
}

/// A tuple of checked values, each `Some` unless its check failed.
pub trait Parsed {
    /// The tuple of the values themselves.
    type Values;
    /// The values, if every one is there.
    fn values(self) -> Option<Self::Values>;
}

impl Parsed for () {
    type Values = ();
    fn values(self) -> Option<()> {
        Some(())
    }
}

macro_rules! parsed_tuple {
    ($($name:ident),+) => {
        impl<$($name),+> Parsed for ($(Option<$name>,)+) {
            type Values = ($($name,)+);
            #[allow(non_snake_case)]
            fn values(self) -> Option<Self::Values> {
                let ($($name,)+) = self;
                Some(($($name?,)+))
            }
        }
    };
}
parsed_tuple!(A);
parsed_tuple!(A, B);
parsed_tuple!(A, B, C);
parsed_tuple!(A, B, C, D);
parsed_tuple!(A, B, C, D, E);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_is_reported_and_values_come_back_when_none() {
        let mut errors = FieldErrors::default();
        let a = errors.check(Ok::<_, FieldError>(1));
        let b = errors.check(Err::<i32, _>(FieldError::new("b", "bad")));
        let c = errors.check(Err::<i32, _>(FieldError::new("c", "worse")));
        let invalid = errors.finish((a, b, c)).unwrap_err();
        assert_eq!(invalid.0.len(), 2);
        assert_eq!(invalid.to_string(), "b: bad; c: worse");

        let mut errors = FieldErrors::default();
        let a = errors.check(Ok::<_, FieldError>(1));
        let b = errors.check(Ok::<_, FieldError>("two"));
        assert_eq!(errors.finish((a, b)), Ok((1, "two")));
        assert_eq!(
            FieldErrors::default().finish((None::<i32>,)).unwrap_err().0[0].field,
            "body"
        );
    }
}
