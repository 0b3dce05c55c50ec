//! Security round two, M6: slow clients are cut off (header, body and
//! keep-alive idle timeouts), connections are capped per address, and other
//! clients are served meanwhile. On both backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use std::time::{Duration, Instant};

use common::{Backend, TestDb, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Short limits, so the test waits seconds rather than a minute.
const LIMITS: [(&str, &str); 3] = [
    ("AIAPI_HEADER_READ_SECS", "1"),
    ("AIAPI_BODY_READ_SECS", "2"),
    ("AIAPI_KEEP_ALIVE_SECS", "3"),
];

async fn connect(server: &TestServer) -> TcpStream {
    let addr = server.url("").trim_start_matches("http://").to_owned();
    TcpStream::connect(addr.trim_end_matches('/'))
        .await
        .unwrap()
}

/// Trickles `pieces` one every `every` until the server closes the
/// connection; returns what it answered and when it closed (from the first
/// piece), or panics if it is still open after `give_up`.
async fn trickle(
    stream: &mut TcpStream,
    pieces: &[u8],
    every: Duration,
    give_up: Duration,
) -> (String, Duration) {
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    for piece in pieces.chunks(1).cycle() {
        assert!(started.elapsed() < give_up, "still open after {give_up:?}");
        if stream.write_all(piece).await.is_err() {
            break;
        }
        match tokio::time::timeout(every, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

async fn still_serves(server: &TestServer) {
    let resp = server.get("/health").await;
    assert_eq!(resp.status(), 200, "other clients are served meanwhile");
}

async fn m6_a_client_sending_its_headers_slowly_is_cut_off(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start_with(&db, &LIMITS).await;
    let mut slow = connect(&server).await;
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let cut = tokio::spawn(async move {
        trickle(
            &mut slow,
            b"X-Slow: 1\r\n",
            Duration::from_millis(300),
            Duration::from_secs(8),
        )
        .await
    });
    still_serves(&server).await;
    let (answer, after) = cut.await.unwrap();
    assert!(
        after < Duration::from_millis(2500),
        "closed after {after:?}"
    );
    assert!(
        !answer.contains("200 OK"),
        "the slow request was never served: {answer}"
    );
}

async fn m6_a_client_sending_its_body_slowly_gets_408_and_is_cut_off(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start_with(&db, &LIMITS).await;
    let mut slow = connect(&server).await;
    slow.write_all(
        b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n",
    )
    .await
    .unwrap();
    let cut = tokio::spawn(async move {
        trickle(
            &mut slow,
            b"{\"username\": ",
            Duration::from_millis(200),
            Duration::from_secs(10),
        )
        .await
    });
    still_serves(&server).await;
    let (answer, after) = cut.await.unwrap();
    assert!(
        after < Duration::from_millis(3500),
        "closed after {after:?}"
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
}

async fn m6_an_idle_kept_alive_connection_is_closed_after_the_idle_time(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start_with(&db, &LIMITS).await;
    let mut client = connect(&server).await;
    client
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = client.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let answered = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(8), client.read(&mut buf))
        .await
        .expect("the idle connection is closed");
    assert_eq!(closed.unwrap_or(0), 0);
    let idle = answered.elapsed();
    // Longer than the header timeout: an idle connection is not a slow one.
    assert!(
        idle > Duration::from_millis(2500) && idle < Duration::from_millis(4500),
        "{idle:?}"
    );
}

async fn m6_connections_per_address_are_capped(backend: Backend) {
    let db = TestDb::create(backend).await;
    let mut env = LIMITS.to_vec();
    env.push(("AIAPI_MAX_CONNECTIONS_PER_ADDR", "3"));
    let server = TestServer::start_with(&db, &env).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect(&server).await);
    }
    let mut refused = connect(&server).await;
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), refused.read_to_string(&mut answer))
        .await
        .expect("the refused connection is closed")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("too_many_connections"), "{answer}");
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    still_serves(&server).await;
}

async fn m6_an_sse_stream_outlives_the_idle_time(backend: Backend) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start_with(&db, &LIMITS).await;
    let token = server.token("ai_agent", "ai123").await;
    let session = server.mcp_session(&token).await;
    let mut stream = connect(&server).await;
    let request = format!(
        "GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Accept: text/event-stream\r\nMcp-Session-Id: {session}\r\n\
         Mcp-Protocol-Version: 2025-11-25\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/event-stream"), "{head}");
    let opened = Instant::now();
    let mut later = 0;
    // Past the 3 s idle time, and past the transport's 15 s keep-alive.
    while opened.elapsed() < Duration::from_secs(17) {
        match tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => panic!("the stream was cut after {:?}", opened.elapsed()),
            Ok(Ok(n)) if opened.elapsed() > Duration::from_secs(3) => later += n,
            _ => {}
        }
    }
    assert!(later > 0, "keep-alive comments flow on the idle stream");
}

async fn m6_connections_in_all_are_capped_and_heads_are_bounded(backend: Backend) {
    let db = TestDb::create(backend).await;
    let mut env = LIMITS.to_vec();
    env.push(("AIAPI_MAX_CONNECTIONS", "3"));
    let server = TestServer::start_with(&db, &env).await;
    // The harness's own pooled connection closes after the idle time.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect(&server).await);
    }
    let mut refused = connect(&server).await;
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), refused.read_to_string(&mut answer))
        .await
        .expect("the refused connection is closed")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("in all"), "{answer}");
    assert!(answer.contains("nosniff"), "{answer}");
    drop(held);
    // The server frees the places once it has seen the clients go; until
    // then a new connection is still refused. A server that answers 431 and
    // closes while the client is still writing can reset the connection
    // before the client reads the answer, so an empty answer is tried again.
    let head = format!(
        "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n",
        "b".repeat(70 * 1024)
    );
    let started = Instant::now();
    let answer = loop {
        let mut huge = connect(&server).await;
        let _ = huge.write_all(head.as_bytes()).await;
        let mut answer = String::new();
        let _ =
            tokio::time::timeout(Duration::from_secs(5), huge.read_to_string(&mut answer)).await;
        let settled = !(answer.is_empty() || answer.starts_with("HTTP/1.1 503"));
        if settled || started.elapsed() > Duration::from_secs(10) {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
}

on_both_backends!(
    m6_an_sse_stream_outlives_the_idle_time,
    m6_connections_in_all_are_capped_and_heads_are_bounded,
    m6_a_client_sending_its_headers_slowly_is_cut_off,
    m6_a_client_sending_its_body_slowly_gets_408_and_is_cut_off,
    m6_an_idle_kept_alive_connection_is_closed_after_the_idle_time,
    m6_connections_per_address_are_capped,
);
