//! What every binary does the same way: one-line usage errors with exit code 2, `-v`/`RUST_LOG`
//! diagnostics on stderr, and a quiet exit when the reader of stdout goes away.
//! Each `main.rs` includes this file with `#[path = "../cli.rs"] mod cli;`.

use std::io;
use std::process::ExitCode;

/// Exit code for bad usage or input, in every tool.
pub const USAGE: u8 = 2;

/// Parses the command line. clap's errors span several lines; this prints one line that names
/// the bad value, so a script's log stays readable. `--help` and `--version` print as usual.
/// `args` starts with the program name, as `std::env::args_os()` does.
pub fn parse<C: clap::Parser>(
    tool: &str,
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Result<C, ExitCode> {
    C::try_parse_from(args).map_err(|err| usage_error(tool, &err))
}

fn usage_error(tool: &str, err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(err.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        // A closed pipe (`--help | head -1`) is not worth a complaint.
        let _ = err.print();
        return ExitCode::SUCCESS;
    }
    if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = err.print();
        return ExitCode::from(USAGE);
    }
    let rendered = err.render().to_string();
    let first_paragraph: Vec<&str> =
        rendered.lines().take_while(|l| !l.trim().is_empty()).map(str::trim).collect();
    let message = first_paragraph.join(" ");
    eprintln!("{tool}: {} (see --help)", message.strip_prefix("error: ").unwrap_or(&message));
    ExitCode::from(USAGE)
}

/// Prints one line for bad input and returns the usage exit code.
pub fn bad_input(tool: &str, message: impl std::fmt::Display) -> u8 {
    eprintln!("{tool}: {message}");
    USAGE
}

/// Diagnostics go to stderr so they never mix with a report on stdout: `-v` debug, `-vv`
/// trace, else whatever `RUST_LOG` asks. With neither, no subscriber is installed at all, which
/// keeps a one-probe run's start-up as short as nc's.
pub fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = match verbose {
        0 if std::env::var_os("RUST_LOG").is_none() => return,
        0 => EnvFilter::from_default_env(),
        1 => EnvFilter::new("debug"),
        _ => EnvFilter::new("trace"),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_target(false)
        .try_init();
}

/// A current-thread runtime: the tools wait on a handful of sockets at a time, and one thread
/// starts faster than a pool.
pub fn runtime(tool: &str) -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|err| {
        eprintln!("{tool}: cannot start the async runtime: {err}");
        ExitCode::from(1)
    })
}

/// Turns the outcome of writing a report into the exit code. When the reader went away
/// (`| head -1`) there is nobody left to tell anything, so the tool exits quietly with 0.
pub fn finish(tool: &str, written: io::Result<u8>) -> ExitCode {
    match written {
        Ok(code) => ExitCode::from(code),
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{tool}: cannot write output: {err}");
            ExitCode::from(1)
        }
    }
}

/// Completes when the user or the system asks the tool to stop: Ctrl-C or Ctrl-Break, and on
/// Unix also SIGTERM (a service manager, `timeout`) and SIGHUP (a closed SSH session). Every
/// tool races its work against this, then prints what finished and marks what was cut short.
/// Where no handler can be installed the future never completes: the run simply cannot be
/// interrupted early, which is no reason to fail it.
#[allow(dead_code, reason = "each binary includes this file; not all of them wait for signals yet")]
pub async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        async fn next(stream: &mut Option<Signal>) {
            match stream {
                Some(stream) => {
                    stream.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        let mut int = signal(SignalKind::interrupt()).ok();
        let mut term = signal(SignalKind::terminate()).ok();
        let mut hup = signal(SignalKind::hangup()).ok();
        tokio::select! {
            () = next(&mut int) => {}
            () = next(&mut term) => {}
            () = next(&mut hup) => {}
        }
    }
    #[cfg(windows)]
    {
        use tokio::signal::windows;
        let (Ok(mut c), Ok(mut brk), Ok(mut close)) =
            (windows::ctrl_c(), windows::ctrl_break(), windows::ctrl_close())
        else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = c.recv() => {}
            _ = brk.recv() => {}
            _ = close.recv() => {}
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// True when the console renders escape sequences (colours, erasing a line). A Unix terminal
/// always does; a Windows console only once virtual terminal processing is on (Windows 10
/// and later), which this turns on for stdout and stderr. Callers check `is_terminal` first:
/// piped output never gets escapes.
#[allow(dead_code, reason = "nameresolver prints no colour or progress line")]
pub fn ansi_console() -> bool {
    #[cfg(windows)]
    {
        anstyle_query::windows::enable_ansi_colors().unwrap_or(false)
    }
    #[cfg(not(windows))]
    {
        true
    }
}
