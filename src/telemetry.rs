//! Logging set-up: one `tracing` subscriber for the process, writing to
//! stderr, filtered by `RUST_LOG` (default `info`), JSON with `STANCE_LOG_FORMAT=json`.

use std::io::BufWriter;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Who writes the log lines to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogWriter {
    /// The thread that logs, one write per line: for commands, whose log
    /// lines and messages then stay in order.
    Direct,
    /// A background thread that writes whatever is queued in one batch:
    /// for the service, whose workers then never wait for a write. With one
    /// line per request that saved about 9 µs of CPU per request (1 KB
    /// documents at 13,000 req/s on one pinned core; README of
    /// `scripts/bench_serve.sh`). Lines are never dropped: a full queue
    /// makes the logging thread wait.
    Background,
}

/// Keeps the background writer running; dropping it writes what is queued.
/// Hold it until the process ends.
#[must_use = "dropping the guard stops the background log writer"]
#[derive(Debug)]
pub struct LogGuard {
    _worker: Option<WorkerGuard>,
}

/// Installs the global subscriber once; later calls do nothing.
pub fn init(writer: LogWriter) -> LogGuard {
    match writer {
        LogWriter::Direct => {
            install(std::io::stderr);
            LogGuard { _worker: None }
        }
        LogWriter::Background => {
            let (writer, guard) = NonBlockingBuilder::default()
                .lossy(false)
                .thread_name("stance-log")
                .finish(BufWriter::new(std::io::stderr()));
            install(writer);
            LogGuard {
                _worker: Some(guard),
            }
        }
    }
}

fn install<W>(writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("STANCE_LOG_FORMAT").is_ok_and(|v| v == "json");
    // Colour only on a terminal: logs redirected to a file stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi)
        .with_target(false);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
