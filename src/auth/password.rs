//! Password hashing and verification with argon2id (OWASP parameters: the
//! argon2 crate's defaults, m=19 MiB, t=2, p=1), on a bounded pool of
//! low-priority threads so a login storm never starves other requests.

use std::sync::{Arc, Mutex, mpsc};

use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use tokio::sync::oneshot;

use crate::error::ApiError;

/// A hash of a password nobody has, verified for unknown usernames so that
/// "no such user" takes as long as "wrong password".
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$tYYj0P/WtqU21Sp06LGB0A$cilbXVBvsyMVynkBWwNnbJvgD8j1atRxl4ExH6EDKVQ";

/// A unit of hashing work for the pool's threads.
type Job = Box<dyn FnOnce() + Send>;

/// Hashes and verifies passwords on a small pool of threads of its own.
#[derive(Clone)]
pub struct Passwords {
    jobs: mpsc::Sender<Job>,
}

impl Passwords {
    /// A pool sized to the machine: cores − 1, at least 1.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_threads(cores.saturating_sub(1).max(1))
    }

    /// A pool of `threads` hashing threads. They run at the lowest
    /// scheduling priority (`SCHED_IDLE`), so while they hash, the threads
    /// serving other requests still get the CPU when they need it: a login
    /// storm slows logins, not health checks. The threads end with the last
    /// handle.
    pub fn with_threads(threads: usize) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    lower_this_threads_priority();
                    loop {
                        let job = match queue.lock().unwrap_or_else(|e| e.into_inner()).recv() {
                            Ok(job) => job,
                            Err(_) => return,
                        };
                        // A panicking job answers as a failed task; the thread stays.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                })
                .expect("spawn a password hashing thread");
        }
        Self { jobs }
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

    /// Queues `work` for the pool and waits for its answer.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let (answer, answered) = oneshot::channel();
        let span = tracing::Span::current();
        self.jobs
            .send(Box::new(move || {
                let _ = answer.send(span.in_scope(work));
            }))
            .map_err(|_| ApiError::Internal("password pool closed".into()))?;
        answered
            .await
            .map_err(|_| ApiError::Internal("password task failed".into()))
    }
}

/// Puts the calling thread in Linux's `SCHED_IDLE` class (the policy is
/// per thread). A thread of any other class that wakes up preempts it at
/// once, where a nice value only shrinks its share: a request thread waking
/// on a core that is hashing runs now, not after the hash's time slice. It
/// still gets a small share of a busy machine, so logins slow down under
/// load but do not stop. Failing only costs latency elsewhere, so it is not
/// an error.
fn lower_this_threads_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` outlives the call; pid 0 names the calling thread.
    let failed = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } != 0;
    if failed {
        tracing::debug!("cannot lower the priority of a password hashing thread");
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
