//! The empty SSE "priming" event (SEP-1699: an id and a `retry` hint with
//! no data) belongs to revision 2025-11-25 and later. rmcp sends it first on
//! every stream whatever the revision, and clients of the earlier revisions
//! read each event's data as JSON-RPC: the TypeScript SDK 1.17 fails every
//! response with "Unexpected end of JSON input". For them it is left out.

use bytes::Bytes;

use super::revision;
use futures_util::stream::{self, BoxStream, StreamExt};
use poem::Body;

/// A stream's head is held back at most this long while looking for the
/// end of its first event; rmcp writes the priming event in one piece.
const MAX_HEAD: usize = 4096;

/// Whether a client of `revision` must not be sent the priming event.
pub fn unexpected_by(revision: &str) -> bool {
    !revision::at_least(revision, revision::PRIMED)
}

/// `body`, an SSE stream, without its first event when that is a priming
/// event; every other byte passes unchanged.
pub fn without_priming(body: Body) -> Body {
    let inner: BoxStream<'static, std::io::Result<Bytes>> = body.into_bytes_stream().boxed();
    let head = Some(Vec::new());
    Body::from_bytes_stream(stream::unfold(
        (inner, head),
        |(mut inner, mut head)| async move {
            loop {
                let Some(buffer) = head.as_mut() else {
                    let chunk = inner.next().await?;
                    return Some((chunk, (inner, None)));
                };
                match inner.next().await {
                    Some(Ok(bytes)) => {
                        buffer.extend_from_slice(&bytes);
                        let end = buffer.windows(2).position(|w| w == b"\n\n");
                        if end.is_none() && buffer.len() < MAX_HEAD {
                            continue;
                        }
                        let mut out = head.take().unwrap_or_default();
                        if let Some(end) = end
                            && is_priming(&out[..end])
                        {
                            out.drain(..end + 2);
                        }
                        if out.is_empty() {
                            continue;
                        }
                        return Some((Ok(Bytes::from(out)), (inner, None)));
                    }
                    Some(Err(e)) => return Some((Err(e), (inner, head))),
                    None => {
                        let out = head.take().filter(|b| !b.is_empty())?;
                        return Some((Ok(Bytes::from(out)), (inner, None)));
                    }
                }
            }
        },
    ))
}

/// Whether an event's lines carry no data: only `id`, `retry` and empty
/// `data` fields.
fn is_priming(event: &[u8]) -> bool {
    let text = String::from_utf8_lossy(event);
    let mut fields = text
        .lines()
        .map(|line| line.split_once(':').unwrap_or((line, "")));
    fields.all(|(name, value)| match name {
        "data" => value.trim().is_empty(),
        "id" | "retry" => true,
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn filtered(chunks: &[&str]) -> String {
        let owned: Vec<std::io::Result<Bytes>> = chunks
            .iter()
            .map(|c| Ok(Bytes::from(c.to_string())))
            .collect();
        let body = without_priming(Body::from_bytes_stream(stream::iter(owned)));
        String::from_utf8(body.into_vec().await.unwrap()).unwrap()
    }

    #[tokio::test]
    async fn the_priming_event_is_left_out_and_the_rest_kept() {
        let message = "data: {\"jsonrpc\":\"2.0\"}\n\n";
        assert_eq!(
            filtered(&["data: \nid: 0\nretry: 3000\n\n", message]).await,
            message
        );
        assert_eq!(
            filtered(&["id: 0\nret", "ry: 3000\ndata:\n\n", message]).await,
            message
        );
        assert_eq!(
            filtered(&[message, message]).await,
            format!("{message}{message}")
        );
        assert_eq!(filtered(&[": keep-alive\n\n"]).await, ": keep-alive\n\n");
        assert_eq!(filtered(&["retry: 3000\n"]).await, "retry: 3000\n");
    }

    #[test]
    fn revisions_before_2025_11_25_do_not_expect_it() {
        assert!(unexpected_by("2025-03-26") && unexpected_by("2025-06-18"));
        assert!(!unexpected_by("2025-11-25") && !unexpected_by("2026-07-28"));
    }
}
