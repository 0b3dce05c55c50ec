//! The real `aiapi` binary serving on a random loopback port.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::TestDb;

/// A running server; killed when dropped.
pub struct TestServer {
    /// Base URL, e.g. `http://127.0.0.1:43210`.
    pub base: String,
    /// An HTTP client for it.
    pub http: reqwest::Client,
    /// Where the server's log goes.
    pub log_path: std::path::PathBuf,
    child: Child,
}

impl TestServer {
    /// Starts `aiapi serve` on `db` (which it migrates).
    pub async fn start(db: &TestDb) -> Self {
        Self::start_with(db, &[]).await
    }

    /// Starts `aiapi serve` on `db` with extra environment variables.
    pub async fn start_with(db: &TestDb, env: &[(&str, &str)]) -> Self {
        let log_dir = log_dir();
        let log_path = log_dir.join(format!(
            "server-{}-{}.log",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        let log = std::fs::File::create(&log_path).expect("create server log");
        let mut cmd: Command = db.command(&["serve", "--bind", "127.0.0.1:0"]).into();
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("spawn aiapi");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    return Some(addr.to_owned());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            panic!(
                "server did not start; its log:\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            )
        });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Self {
            base,
            http,
            log_path,
            child,
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("GET")
    }

    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("server is running")
    }

    /// Waits for the process to exit, returning its status.
    pub async fn wait(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

/// Records a secret the tests saw (password, token, key) so CI can check
/// that no server log contains it.
pub fn remember_secret(secret: &str) {
    use std::io::Write;
    if secret.len() < 8 {
        return;
    }
    let path = log_dir().join("secrets.txt");
    // One write per line: test processes append concurrently, and
    // `writeln!` issues the text and the newline as two writes, which can
    // interleave into a joined line and an empty one.
    let line = format!("{secret}\n");
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = file.write_all(line.as_bytes());
    }
}

/// Server logs of the whole run land here, so CI can scan them for secrets.
fn log_dir() -> std::path::PathBuf {
    let dir = std::env::var("AIAPI_TEST_LOG_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-logs")
        });
    std::fs::create_dir_all(&dir).expect("create test log dir");
    dir
}
