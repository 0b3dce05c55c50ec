//! Password hashing and verification with argon2id (OWASP parameters: the
//! argon2 crate's defaults, m=19 MiB, t=2, p=1), on a bounded pool of
//! low-priority threads so a login storm never starves other requests.

use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use tokio::runtime::RuntimeMetrics;
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
    /// serving other requests still get the CPU when they need it, and
    /// they yield to a busy runtime ([`LoadGovernor`]): a login storm slows
    /// logins, not health checks. The threads end with the last handle.
    pub fn with_threads(threads: usize) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let metrics = tokio::runtime::Handle::try_current()
            .ok()
            .map(|runtime| runtime.metrics());
        for n in 0..threads {
            let queue = queue.clone();
            let mut governor = LoadGovernor::new(metrics.clone());
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    lower_this_threads_priority();
                    loop {
                        let job = match queue.lock().unwrap_or_else(|e| e.into_inner()).recv() {
                            Ok(job) => job,
                            Err(_) => return,
                        };
                        let started = this_threads_cpu_time();
                        // A panicking job answers as a failed task; the thread stays.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        governor.pause_after(this_threads_cpu_time().saturating_sub(started));
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

/// The runtime's workers count as busy serving requests when they were
/// busy at least this share of the time since a hashing thread last looked.
/// Requests that saturate the cores keep the workers busy well above it
/// (the rest goes to the kernel and the clients); logins alone, whose work
/// is the hash, keep them below it, so a pure login storm still runs at the
/// ideal rate. Figures: BENCHMARKS.md, "Measurements behind design choices".
const BUSY_WORKERS: f64 = 0.25;

/// While the workers are busy, a hashing thread hashes at most one part in
/// this many of the time (5%): small enough not to lift other requests' tail
/// latency, large enough that logins go on.
const HASHING_SHARE_UNDER_LOAD: u32 = 20;

/// Keeps a hashing thread's share of the CPU small while the runtime's
/// workers are busy with other requests.
///
/// `SCHED_IDLE` alone is not enough when requests saturate the cores: the
/// hash then fills every short gap between them, and each wake-up that
/// preempts it, or waits behind a request thread that was placed on the
/// other core, adds to their tail latency (measured: BENCHMARKS.md,
/// "Measurements behind design choices"). So a busy runtime gets the CPU,
/// and logins still progress at a floor of [`HASHING_SHARE_UNDER_LOAD`]. With idle workers (a pure login
/// storm) hashing runs flat out.
struct LoadGovernor {
    metrics: Option<RuntimeMetrics>,
    /// When it last looked, and the workers' total busy time then.
    last: (Instant, Duration),
}

impl LoadGovernor {
    fn new(metrics: Option<RuntimeMetrics>) -> Self {
        let busy = metrics.as_ref().map_or(Duration::ZERO, total_busy);
        Self {
            metrics,
            last: (Instant::now(), busy),
        }
    }

    /// Sleeps after a hash that took `spent` of CPU time if the workers
    /// were busy. CPU time, not wall time: under load a hash waits for
    /// gaps, and resting in proportion to that wait would starve logins.
    fn pause_after(&mut self, spent: Duration) {
        let pause = pause_for(spent, self.busy_share());
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }

    /// How busy the workers were since the last look, from 0 to 1.
    fn busy_share(&mut self) -> f64 {
        let Some(metrics) = &self.metrics else {
            return 0.0;
        };
        let now = Instant::now();
        let busy = total_busy(metrics);
        let (then, was) = std::mem::replace(&mut self.last, (now, busy));
        let capacity = now.duration_since(then).as_secs_f64() * metrics.num_workers() as f64;
        if capacity <= 0.0 {
            return 0.0;
        }
        busy.saturating_sub(was).as_secs_f64() / capacity
    }
}

/// The sum of every worker's busy time.
fn total_busy(metrics: &RuntimeMetrics) -> Duration {
    (0..metrics.num_workers())
        .map(|worker| metrics.worker_total_busy_duration(worker))
        .sum()
}

/// How long to rest after a hash that took `spent`, with the workers busy
/// `busy` of the time: none when they are not busy, else enough that
/// hashing takes its share under load.
fn pause_for(spent: Duration, busy: f64) -> Duration {
    if busy < BUSY_WORKERS {
        return Duration::ZERO;
    }
    spent * (HASHING_SHARE_UNDER_LOAD - 1)
}

/// The CPU time the calling thread has used.
#[cfg(target_os = "linux")]
fn this_threads_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to fill.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Without a per-thread CPU clock, the wall time since the thread first
/// asked: a hash that waits for gaps under load then counts its wait too,
/// so logins slow down more under load, but still progress.
#[cfg(not(target_os = "linux"))]
fn this_threads_cpu_time() -> Duration {
    thread_local! {
        static FIRST_ASKED: Instant = Instant::now();
    }
    FIRST_ASKED.with(Instant::elapsed)
}

/// Puts the calling thread in Linux's `SCHED_IDLE` class (the policy is
/// per thread). A thread of any other class that wakes up preempts it at
/// once, where a nice value only shrinks its share: a request thread waking
/// on a core that is hashing runs now, not after the hash's time slice. It
/// still gets a small share of a busy machine, so logins slow down under
/// load but do not stop. Failing only costs latency elsewhere, so it is not
/// an error.
#[cfg(target_os = "linux")]
fn lower_this_threads_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` outlives the call; pid 0 names the calling thread.
    let failed = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } != 0;
    if failed {
        tracing::debug!("cannot lower the priority of a password hashing thread");
    }
}

/// Elsewhere there is no portable per-thread priority call (a nice value
/// set with `setpriority` would lower the whole process on some systems),
/// so the [`LoadGovernor`] alone keeps hashing small under load.
#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority() {}

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

    #[test]
    fn hashing_rests_only_while_the_workers_are_busy() {
        let hash = Duration::from_millis(15);
        assert_eq!(pause_for(hash, 0.0), Duration::ZERO);
        assert_eq!(pause_for(hash, BUSY_WORKERS - 0.01), Duration::ZERO);
        let pause = pause_for(hash, 0.9);
        let share = hash.as_secs_f64() / (hash + pause).as_secs_f64();
        assert!(
            (share - 0.05).abs() < 1e-9,
            "hashing's share under load: {share}"
        );
    }

    /// Waits (at most a generous bound) until `done` holds.
    fn wait_until(mut done: impl FnMut() -> bool, what: &str) {
        let give_up = Instant::now() + Duration::from_secs(30);
        while !done() {
            assert!(Instant::now() < give_up, "never true: {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_threads_cpu_time_counts_work_not_sleep() {
        let start = this_threads_cpu_time();
        let slept_from = Instant::now();
        std::thread::sleep(Duration::from_millis(50));
        let wall = slept_from.elapsed();
        let slept = this_threads_cpu_time() - start;
        // Sleeping uses no CPU, so the clock moves less than the wall clock.
        assert!(slept < wall / 2, "{slept:?} of CPU while sleeping {wall:?}");
        // Work moves it: spin until it has moved by 20 ms.
        let before = this_threads_cpu_time();
        let mut spins = 0u64;
        while this_threads_cpu_time() - before < Duration::from_millis(20) {
            spins = std::hint::black_box(spins + 1);
        }
        assert!(spins > 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_busy_runtime_is_seen_as_busy() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let governor = Arc::new(Mutex::new(LoadGovernor::new(Some(
            tokio::runtime::Handle::current().metrics(),
        ))));
        let stop = Arc::new(AtomicBool::new(false));
        // Workers report their busy time when they park, so each spinner
        // spins in slices and sleeps briefly between them.
        let spinners: Vec<_> = (0..2)
            .map(|_| {
                let stop = stop.clone();
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let until = Instant::now() + Duration::from_millis(20);
                        while Instant::now() < until {}
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                })
            })
            .collect();
        let looking = governor.clone();
        tokio::task::spawn_blocking(move || {
            wait_until(
                || looking.lock().unwrap().busy_share() > BUSY_WORKERS,
                "two spinning workers seen as busy",
            )
        })
        .await
        .unwrap();
        stop.store(true, Ordering::Relaxed);
        for spinner in spinners {
            spinner.await.unwrap();
        }
        tokio::task::spawn_blocking(move || {
            wait_until(
                || governor.lock().unwrap().busy_share() < BUSY_WORKERS,
                "idle workers seen as idle",
            )
        })
        .await
        .unwrap();
    }
}
