//! sandboxd: `sandboxd run [--input FILE]` (startup JSON from FILE or stdin), `sandboxd health
//! [--addr HOST:PORT]`, `sandboxd --version`.

use sandboxd::{daemon, startup};
use std::process::ExitCode;

fn arg_value(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--version") => {
            println!("sandboxd {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("health") => {
            let addr = arg_value(&args, "--addr").unwrap_or_else(|| "127.0.0.1:8877".into());
            match daemon::health(&addr) {
                Ok((healthy, body)) => {
                    println!("{body}");
                    if healthy {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                }
                Err(e) => {
                    eprintln!("sandboxd health: {addr}: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Some("run") => {
            let input = match startup::StartupInput::read(arg_value(&args, "--input").as_deref()) {
                Ok(i) => i,
                Err(e) => {
                    eprintln!("sandboxd: {e}");
                    return ExitCode::from(2);
                }
            };
            let runtime =
                match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("sandboxd: runtime: {e}");
                        return ExitCode::from(1);
                    }
                };
            match runtime.block_on(daemon::run(input)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "sandboxd stopped");
                    eprintln!("sandboxd: {e}");
                    ExitCode::from(1)
                }
            }
        }
        _ => {
            eprintln!("usage: sandboxd run [--input FILE] | sandboxd health [--addr HOST:PORT] | sandboxd --version");
            ExitCode::from(2)
        }
    }
}
