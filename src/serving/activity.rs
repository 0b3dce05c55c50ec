//! What a connection is doing, and when it has been doing nothing for too
//! long: the header-read and keep-alive idle timeouts.
//!
//! hyper's own `header_read_timeout` also starts while a kept-alive
//! connection waits for its next request, so it cannot give idle
//! connections a longer allowance than a slow header. This tracks the two
//! apart: the header clock starts at the first byte of a request, the idle
//! clock when the last response has been sent.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Why a connection was closed by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// A request's head did not arrive in time.
    HeaderRead,
    /// No request for the keep-alive idle time.
    Idle,
    /// The client read nothing of its response for the idle time.
    WriteStalled,
}

impl Expiry {
    /// The word used in the log line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HeaderRead => "header read timeout",
            Self::Idle => "keep-alive idle timeout",
            Self::WriteStalled => "the client stopped reading its response",
        }
    }
}

struct State {
    in_flight: usize,
    idle_since: Instant,
    head_started: Option<Instant>,
    write_stalled_since: Option<Instant>,
}

/// Shared between a connection's socket, its requests and its watcher.
pub struct Activity {
    state: Mutex<State>,
    /// Set while no request is in flight and no byte of the next has come,
    /// so that reads need not take the lock.
    awaiting_first_byte: AtomicBool,
    /// Mirrors `write_stalled_since.is_some()`, so that writes take the
    /// lock only when a stall begins or ends.
    write_stalled: AtomicBool,
    changed: Notify,
}

impl Activity {
    /// A connection that has just been accepted and waits for its first
    /// request.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                in_flight: 0,
                idle_since: Instant::now(),
                head_started: None,
                write_stalled_since: None,
            }),
            awaiting_first_byte: AtomicBool::new(true),
            write_stalled: AtomicBool::new(false),
            changed: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn bytes_arrived(&self) {
        if self.awaiting_first_byte.swap(false, Ordering::AcqRel) {
            let mut state = self.lock();
            if state.in_flight == 0 && state.head_started.is_none() {
                state.head_started = Some(Instant::now());
            }
            drop(state);
            self.changed.notify_one();
        }
    }

    fn write_polled(&self, progressed: bool) {
        let stalled = !progressed;
        if self.write_stalled.swap(stalled, Ordering::AcqRel) == stalled {
            return;
        }
        let mut state = self.lock();
        state.write_stalled_since = stalled.then(Instant::now);
        drop(state);
        self.changed.notify_one();
    }

    /// A request's head has been read: the clocks stop until its response
    /// has been sent, however long it streams.
    pub fn request_started(self: &Arc<Self>) -> InFlight {
        self.awaiting_first_byte.store(false, Ordering::Release);
        let mut state = self.lock();
        state.in_flight += 1;
        state.head_started = None;
        drop(state);
        self.changed.notify_one();
        InFlight(self.clone())
    }

    /// Completes when the connection should be closed: its next request's
    /// head is late, or it has been idle too long.
    pub async fn expired(&self, header_read: Duration, idle: Duration) -> Expiry {
        loop {
            let deadline = {
                let state = self.lock();
                if let Some(stalled) = state.write_stalled_since {
                    Some((stalled + idle, Expiry::WriteStalled))
                } else if state.in_flight > 0 {
                    None
                } else if let Some(started) = state.head_started {
                    Some((started + header_read, Expiry::HeaderRead))
                } else {
                    Some((state.idle_since + idle, Expiry::Idle))
                }
            };
            match deadline {
                Some((at, why)) if at <= Instant::now() => return why,
                Some((at, _)) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = self.changed.notified() => {}
                    }
                }
                None => self.changed.notified().await,
            }
        }
    }
}

/// Held while a request is in flight, until its response body is done.
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.in_flight -= 1;
        if state.in_flight == 0 {
            state.idle_since = Instant::now();
            state.head_started = None;
            self.0.awaiting_first_byte.store(true, Ordering::Release);
        }
        drop(state);
        self.0.changed.notify_one();
    }
}

/// A socket that tells its [`Activity`] when bytes arrive.
pub struct WatchedIo<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> WatchedIo<T> {
    /// Wraps `inner`.
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WatchedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_arrived();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WatchedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.activity.write_polled(!polled.is_pending());
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.activity.write_polled(!polled.is_pending());
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_and_header_clocks_run_apart_and_stop_while_a_request_runs() {
        let header = Duration::from_secs(10);
        let idle = Duration::from_secs(60);
        let activity = Activity::new();
        let started = Instant::now();
        assert_eq!(activity.expired(header, idle).await, Expiry::Idle);
        assert_eq!(started.elapsed(), idle);

        let activity = Activity::new();
        activity.bytes_arrived();
        let started = Instant::now();
        assert_eq!(activity.expired(header, idle).await, Expiry::HeaderRead);
        assert_eq!(started.elapsed(), header);

        let activity = Activity::new();
        let request = activity.request_started();
        let waiting = tokio::time::timeout(idle * 5, activity.expired(header, idle)).await;
        assert!(waiting.is_err(), "a request in flight never expires");
        drop(request);
        let done = Instant::now();
        assert_eq!(activity.expired(header, idle).await, Expiry::Idle);
        assert_eq!(done.elapsed(), idle);

        let activity = Activity::new();
        let _streaming = activity.request_started();
        activity.write_polled(false);
        let stalled = Instant::now();
        assert_eq!(activity.expired(header, idle).await, Expiry::WriteStalled);
        assert_eq!(stalled.elapsed(), idle);
    }
}
