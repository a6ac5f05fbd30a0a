use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = stance::cli::Cli::parse();
    stance::telemetry::init();
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
            eprintln!("error: {}", stance::cli::error_message(&err));
            ExitCode::from(2)
        }
    }
}
