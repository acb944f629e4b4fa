//! `corral cli`: a command line that behaves as Apache ZooKeeper 3.8's zkCli.sh (same
//! options, commands, flags, output and error messages), for corral or any ZooKeeper server.
//!
//! - [`args`]: words and flags as zkCli splits and parses them.
//! - [`commands`]: the ZooKeeper commands on one session.
//! - [`output`]: zkCli's formats (Stat, ACLs, dates, errors, events).
//! - [`quota`]: setquota, listquota and delquota, as zkCli writes and reads quota nodes.
//! - [`shell`]: the shell's own commands, prompt, history, line editing and completion.
//! - [`election`]: `election PATH`, the queue of a leader election (corral's addition).

/// `eprintln!` in one write: stdout and stderr often share a pipe, and a watch event printed
/// meanwhile must not split the line.
macro_rules! errln {
    ($($t:tt)*) => {
        $crate::cli::output::err_line(&format!($($t)*))
    };
}

mod args;
mod commands;
mod election;
mod output;
mod quota;
mod shell;

use std::process::ExitCode;
use std::time::Duration;

use output::Printer;
use shell::Shell;

pub const USAGE: &str = "\
usage: corral cli [-server host:port[,host:port...][/chroot]] [-timeout ms] [cmd args...]
       corral cli [-server ...] election PATH

  With no command: an interactive shell (zkCli.sh's commands; `help` lists them).
  With a command: runs it once and exits with its status (0, 1 on error, 127 if unknown).
  election PATH: the candidates under PATH in sequence order (leader first), each with its
  session (ephemeralOwner) and czxid.
";

/// zkCli's `MyCommandOptions`: `-server`, `-timeout`, `-r`, `-client-configuration`,
/// `-waitforconnection`; the first other word starts the command.
struct Options {
    server: String,
    timeout_ms: u64,
    command: Vec<String>,
}

fn parse_options(argv: &[String]) -> Result<Options, String> {
    let mut o = Options {
        server: "localhost:2181".into(),
        timeout_ms: 30_000,
        command: Vec::new(),
    };
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-server" | "-timeout" | "-client-configuration" => {
                let v = it
                    .next()
                    .ok_or_else(|| format!("Error: no argument found for option {a}"))?;
                match a.as_str() {
                    "-server" => o.server = v.clone(),
                    "-timeout" => {
                        o.timeout_ms = v.parse().map_err(|_| format!("bad -timeout {v}"))?
                    }
                    _ => {} // client TLS/SASL settings: not supported, ignored
                }
            }
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with('-') => {} // -r, -waitforconnection: accepted as zkCli does
            _ => {
                o.command.push(a.clone());
                o.command.extend(it.cloned());
                break;
            }
        }
    }
    Ok(o)
}

/// `corral cli ARGS`.
pub fn run(argv: &[String]) -> ExitCode {
    let opts = match parse_options(argv) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            errln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            errln!("corral cli: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let timeout = Duration::from_millis(opts.timeout_ms.max(1));
    if opts.command.first().map(String::as_str) == Some("election") {
        return rt.block_on(election::run(&opts.server, timeout, &opts.command[1..]));
    }
    let mut shell = Shell::new(rt.handle().clone(), timeout, Printer::default());
    println!("Connecting to {}", opts.server);
    if opts.command.is_empty() {
        println!("Welcome to ZooKeeper!");
        shell.connect(&opts.server);
        shell.interactive();
        return ExitCode::from(shell.exit_code);
    }
    if !shell.connect(&opts.server) {
        return ExitCode::from(1);
    }
    shell.process(&opts.command);
    // zkCli exits without closing; corral closes the session but prints no Closed event.
    shell.printer.set_print_watches(false);
    shell.close();
    ExitCode::from(shell.exit_code)
}
