//! The tracing subscriber, built once per process. Logs go to stderr so that
//! stdout stays for command output.

use std::io::{self, IsTerminal, Write};

use tracing_subscriber::EnvFilter;

use crate::config::{ConfigError, LogFormat};

/// Installs the global subscriber with `filter` (`AIAPI_LOG`) and `format`.
pub fn init(filter: &str, format: LogFormat) -> Result<(), ConfigError> {
    // sqlx logs every statement at info; keep that out unless asked for.
    let directives = if filter.contains("sqlx") {
        filter.to_owned()
    } else {
        format!("{filter},sqlx=warn")
    };
    let filter = EnvFilter::try_new(&directives).map_err(|e| ConfigError {
        name: "AIAPI_LOG",
        message: format!("{filter:?} is not a valid tracing filter: {e}"),
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| OneLinePerEvent(io::stderr()))
        .with_ansi(std::io::stderr().is_terminal());
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    // A second init in the same process (only in tests) keeps the first subscriber.
    drop(installed);
    Ok(())
}

/// Writes each event as exactly one line: a newline, carriage return or
/// other control character inside it (a username typed with a newline in
/// it, say) is written escaped, so no client can forge a log line. The fmt
/// layer hands over each event in one write, ending in its newline; ESC
/// stays, for the terminal's colours (tracing escapes it in field values).
struct OneLinePerEvent<W>(W);

impl<W: Write> Write for OneLinePerEvent<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let body = buf.strip_suffix(b"\n").unwrap_or(buf);
        if !body.iter().any(|b| needs_escape(*b)) {
            return self.0.write_all(buf);
        }
        let mut line = Vec::with_capacity(buf.len() + 16);
        for &b in body {
            if needs_escape(b) {
                line.extend_from_slice(format!("\\x{b:02x}").as_bytes());
            } else {
                line.push(b);
            }
        }
        if body.len() < buf.len() {
            line.push(b'\n');
        }
        self.0.write_all(&line)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

fn needs_escape(b: u8) -> bool {
    (b < 0x20 && b != b'\t' && b != 0x1b) || b == 0x7f
}

/// A log line that may repeat at most once per interval, whatever the rate
/// of the events it reports: what a client can trigger at will must not
/// flood the log.
pub struct EveryAtMost {
    secs: i64,
    /// When it last fired (Unix seconds; 0: never).
    last: std::sync::atomic::AtomicI64,
}

impl EveryAtMost {
    /// Fires at most once every `secs` seconds.
    pub const fn secs(secs: i64) -> Self {
        Self {
            secs,
            last: std::sync::atomic::AtomicI64::new(0),
        }
    }

    /// Whether the line is due now; at most one caller per interval gets
    /// `true`.
    pub fn due(&self) -> bool {
        use std::sync::atomic::Ordering;
        let now = chrono::Utc::now().timestamp();
        let last = self.last.load(Ordering::Relaxed);
        now - last >= self.secs
            && self
                .last
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_one_line_whatever_its_fields_hold() {
        let mut out = OneLinePerEvent(Vec::new());
        out.write_all(b"login username=eve\nINFO forged\r\n")
            .unwrap();
        out.write_all(b"plain\n").unwrap();
        assert_eq!(
            String::from_utf8(out.0).unwrap(),
            "login username=eve\\x0aINFO forged\\x0d\nplain\n"
        );
    }
}
