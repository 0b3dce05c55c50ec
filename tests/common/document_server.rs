//! A web server for one document, as a client hosting its metadata
//! document runs one: it answers every GET with what the test set and
//! counts the requests, so a test can see what was fetched and when.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

/// What the server answers.
#[derive(Clone)]
pub struct Answer {
    /// The status line's code and reason, e.g. `200 OK`.
    pub status: &'static str,
    /// Extra header lines, each `Name: value`.
    pub headers: Vec<String>,
    /// The body.
    pub body: String,
}

impl Answer {
    /// A JSON document with these `Cache-Control` directives.
    pub fn json(body: &serde_json::Value, cache_control: &str) -> Self {
        Self {
            status: "200 OK",
            headers: vec![
                "Content-Type: application/json".into(),
                format!("Cache-Control: {cache_control}"),
            ],
            body: body.to_string(),
        }
    }
}

/// The running server.
pub struct DocumentServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    answer: Arc<Mutex<Answer>>,
    hits: Arc<AtomicUsize>,
}

impl DocumentServer {
    /// Serves `answer` on a free loopback port.
    pub async fn start(answer: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let answer = Arc::new(Mutex::new(answer));
        let hits = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (answer.clone(), hits.clone());
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let (served, counted) = (served.clone(), counted.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    counted.fetch_add(1, Ordering::SeqCst);
                    let answer = served.lock().await.clone();
                    let mut response = format!("HTTP/1.1 {}\r\n", answer.status);
                    for header in &answer.headers {
                        response.push_str(&format!("{header}\r\n"));
                    }
                    response.push_str(&format!(
                        "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                        answer.body.len(),
                        answer.body
                    ));
                    let _ = conn.write_all(response.as_bytes()).await;
                });
            }
        });
        Self { base, answer, hits }
    }

    /// The URL of the document (any path is served the same).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Answers `answer` from now on.
    pub async fn set(&self, answer: Answer) {
        *self.answer.lock().await = answer;
    }

    /// How many requests have come.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}
