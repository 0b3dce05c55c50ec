//! Body wrappers: a request body that must arrive within the body-read
//! timeout, and a response body that keeps its request "in flight" until it
//! has been sent (so a long SSE stream is never cut as idle).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use tokio::time::Sleep;

use super::activity::InFlight;

/// The body type poem reads requests from and writes responses with.
pub type PoemBody = BoxBody<Bytes, io::Error>;

/// A request body whose remaining frames fail once `deadline` has passed.
pub struct DeadlineBody {
    inner: PoemBody,
    deadline: Pin<Box<Sleep>>,
    limit: Duration,
    timed_out: Arc<AtomicBool>,
}

impl DeadlineBody {
    /// `inner`, to be received within `limit` from now; `timed_out` is set
    /// if it is not, so the response can close the connection.
    pub fn new(inner: PoemBody, limit: Duration, timed_out: Arc<AtomicBool>) -> Self {
        Self {
            inner,
            deadline: Box::pin(tokio::time::sleep(limit)),
            limit,
            timed_out,
        }
    }
}

impl Body for DeadlineBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.timed_out.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the request body did not arrive within {} s",
                    self.limit.as_secs()
                ),
            ))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that holds its request's [`InFlight`] until it ends or
/// is dropped.
pub struct TrackedBody {
    inner: PoemBody,
    _in_flight: InFlight,
}

impl TrackedBody {
    /// `inner`, keeping `in_flight` alive while it is sent.
    pub fn new(inner: PoemBody, in_flight: InFlight) -> Self {
        Self {
            inner,
            _in_flight: in_flight,
        }
    }
}

impl Body for TrackedBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
