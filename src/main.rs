use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = stance::cli::Cli::parse();
    // The service logs a line per request: its writes go to a background
    // thread. Commands write their own lines, in order with their messages.
    let writer = match cli.command {
        stance::cli::Command::Serve(_) => stance::telemetry::LogWriter::Background,
        _ => stance::telemetry::LogWriter::Direct,
    };
    let _log = stance::telemetry::init(writer);
    match stance::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`stance score ... | head`) is not a failure.
            let broken_pipe = err.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
