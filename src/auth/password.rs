//! Password hashing and verification with argon2id (OWASP parameters: the
//! argon2 crate's defaults, m=19 MiB, t=2, p=1), on a bounded slice of the
//! blocking pool so a login storm never starves other requests.

use std::sync::Arc;

use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// A hash of a password nobody has, verified for unknown usernames so that
/// "no such user" takes as long as "wrong password".
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$tYYj0P/WtqU21Sp06LGB0A$cilbXVBvsyMVynkBWwNnbJvgD8j1atRxl4ExH6EDKVQ";

/// Hashes and verifies passwords with at most `permits` running at once.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
}

impl Passwords {
    /// A pool sized to the machine: cores − 1, at least 1.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_threads(cores.saturating_sub(1).max(1))
    }

    /// A pool with `threads` concurrent hashes.
    pub fn with_threads(threads: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(threads)),
        }
    }

    /// The argon2id PHC string of `password`.
    pub async fn hash(&self, password: &str) -> Result<String, ApiError> {
        let password = password.to_owned();
        self.run(move || {
            Argon2::default()
                .hash_password(password.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| ApiError::Internal(format!("argon2 hash: {e}")))
        })
        .await?
    }

    /// Whether `password` matches `stored` (a PHC string). With `None`
    /// (unknown user) a dummy hash is checked and the answer is `false`.
    pub async fn verify(&self, stored: Option<&str>, password: &str) -> Result<bool, ApiError> {
        let known = stored.is_some();
        let stored = stored.unwrap_or(DUMMY_HASH).to_owned();
        let password = password.to_owned();
        let matches = self
            .run(move || {
                Argon2::default()
                    .verify_password(password.as_bytes(), stored.as_str())
                    .is_ok()
            })
            .await?;
        Ok(known && matches)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ApiError::Internal("password pool closed".into()))?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(work))
            .await
            .map_err(|e| ApiError::Internal(format!("password task failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_users_never_match() {
        let passwords = Passwords::with_threads(1);
        let hash = passwords.hash("correct horse").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            passwords
                .verify(Some(&hash), "correct horse")
                .await
                .unwrap()
        );
        assert!(!passwords.verify(Some(&hash), "wrong horse").await.unwrap());
        assert!(!passwords.verify(None, "correct horse").await.unwrap());
        // The dummy hash is a well-formed hash, so unknown users cost a real verification.
        assert!(argon2::PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
