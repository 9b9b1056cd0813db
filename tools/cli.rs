//! What every binary does the same way: one-line usage errors with exit code 2, `-v`/`RUST_LOG`
//! diagnostics on stderr, and a quiet exit when the reader of stdout goes away.
//! Each `main.rs` includes this file with `#[path = "../cli.rs"] mod cli;`.

use std::io;
use std::process::ExitCode;
use std::time::Duration;

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
    let message = netdiag_common::sanitize::escape_for_terminal(
        message.strip_prefix("error: ").unwrap_or(&message),
        1000,
    );
    stderr_line(format_args!("{tool}: {message} (see --help)"));
    ExitCode::from(USAGE)
}

/// The longest wait any option accepts (`-i`, `-w`, `--timeout`, `--dns-timeout`). Longer is
/// a typo rather than a plan, and far longer (`1e19`, 2^63 s) cannot even be added to a clock.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// A duration option: humantime (`500ms`, `2s`, `1m`) or a bare number of seconds (`0.5`, as
/// in ping); zero is allowed, more than [`MAX_DURATION`] is bad input.
pub fn duration(text: &str) -> Result<Duration, String> {
    let shown = netdiag_common::sanitize::escape_for_terminal(text, 40);
    let parsed = match text.trim().parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs >= 0.0 => {
            // Compared as a number first: 1e19 s does not even fit in a Duration.
            if secs > MAX_DURATION.as_secs_f64() { Duration::MAX } else { Duration::from_secs_f64(secs) }
        }
        Ok(_) => return Err(format!("'{shown}' is not a number of seconds of zero or more")),
        Err(_) => humantime::parse_duration(text.trim())
            .map_err(|e| format!("'{shown}' is not a duration ({e}); try 500ms, 2s or 1m"))?,
    };
    if parsed > MAX_DURATION {
        return Err(format!("'{shown}' is longer than the limit of 24h"));
    }
    Ok(parsed)
}

/// A duration option that must be greater than zero (timeouts).
pub fn positive_duration(text: &str) -> Result<Duration, String> {
    match duration(text)? {
        Duration::ZERO => Err(format!(
            "'{}' must be greater than zero",
            netdiag_common::sanitize::escape_for_terminal(text, 40)
        )),
        d => Ok(d),
    }
}

/// Writes one line to stderr and ignores failure: a closed or broken stderr (`2>&-`, a log
/// reader that went away) must never abort a tool, least of all before its report on stdout
/// is written. `eprintln!` panics in that case.
pub fn stderr_line(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    // Warnings quote settings and servers' names: one inert line whatever they hold.
    let line = netdiag_common::sanitize::escape_for_terminal(&line.to_string(), 4000);
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// Prints one line for bad input and returns the usage exit code.
pub fn bad_input(tool: &str, message: impl std::fmt::Display) -> u8 {
    // The message quotes what the user typed, which may hold escape sequences or newlines.
    let message = netdiag_common::sanitize::escape_for_terminal(&message.to_string(), 1000);
    stderr_line(format_args!("{tool}: {message}"));
    USAGE
}

/// Diagnostics go to stderr so they never mix with a report on stdout: `-v` debug, `-vv`
/// trace, else whatever `RUST_LOG` asks. With neither, no subscriber is installed at all, which
/// keeps a one-probe run's start-up as short as nc's.
pub fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = match verbose {
        0 if std::env::var_os("RUST_LOG").is_none() => return,
        // Not `from_default_env`: it complains about a bad directive with `eprintln!`.
        0 => match EnvFilter::try_from_default_env() {
            Ok(filter) => filter,
            Err(err) => {
                stderr_line(format_args!("warning: RUST_LOG ignored: {err}"));
                return;
            }
        },
        1 => EnvFilter::new("debug"),
        _ => EnvFilter::new("trace"),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_target(false)
        // Its own complaint about a failed write would go to the same broken stderr, with
        // `eprintln!`, which panics.
        .log_internal_errors(false)
        .try_init();
}

/// A current-thread runtime: the tools wait on a handful of sockets at a time, and one thread
/// starts faster than a pool.
pub fn runtime(tool: &str) -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|err| {
        stderr_line(format_args!("{tool}: cannot start the async runtime: {err}"));
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
            stderr_line(format_args!("{tool}: cannot write output: {err}"));
            ExitCode::from(1)
        }
    }
}

/// Runs `work`; when stderr is a terminal and it takes more than a second, a `\r`-updated
/// `waiting for TARGET... Ns` line on stderr shows the tool is not hung (a 21 s connect timeout
/// otherwise looks like one). The line is erased when the work ends.
#[allow(dead_code, reason = "each binary includes this file; nameresolver has no single slow wait")]
pub async fn with_waiting_line<F: std::future::Future>(target: &str, work: F) -> F::Output {
    use std::io::Write;
    if !live_stderr() {
        return work.await;
    }
    tokio::pin!(work);
    let mut waited = 0u64;
    let output = loop {
        tokio::select! {
            done = &mut work => break done,
            () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {
                waited += 1;
                let mut err = io::stderr().lock();
                let _ = write!(err, "\rwaiting for {target}... {waited}s");
                let _ = err.flush();
            }
        }
    };
    if waited > 0 {
        erase_waiting_line();
    }
    output
}

/// Erases the line [`with_waiting_line`] draws, so the next line of output starts clean.
#[allow(dead_code, reason = "each binary includes this file; nameresolver has no single slow wait")]
pub fn erase_waiting_line() {
    use std::io::Write;
    if live_stderr() {
        let mut err = io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}

/// Completes when the user or the system asks the tool to stop: Ctrl-C or Ctrl-Break, and on
/// Unix also SIGTERM (a service manager, `timeout`) and SIGHUP (a closed SSH session). Every
/// tool races its work against this, then prints what finished and marks what was cut short.
/// Where no handler can be installed the future never completes: the run simply cannot be
/// interrupted early, which is no reason to fail it.
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

/// True when a line on stderr may be redrawn in place (progress, "waiting for"): a terminal
/// that renders escape sequences. Piped output and old Windows consoles get plain lines only.
pub fn live_stderr() -> bool {
    use std::io::IsTerminal;
    io::stderr().is_terminal() && ansi_console()
}
