//! zkCli.sh's `ZooKeeperMain`: the commands that are the shell's own (`connect`, `close`,
//! `history`, `redo`, `printwatches`, `quit`), the prompt, and the read loop: a line editor
//! with history and tab completion of commands and paths on a terminal, plain lines from a
//! pipe.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral_client::AddWatchMode;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Context, Editor, ExternalPrinter, Helper};
use tokio::runtime::Handle;

use super::args::{tokenize, CliError};
use super::commands::{child_path, print_usage, Conn, USAGES};
use super::output::{self, Printer};

/// Whether the read loop goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

pub struct Shell {
    rt: Handle,
    timeout: Duration,
    pub host: String,
    /// Shared with the completer, which lists children for path completion.
    pub conn: Arc<Mutex<Option<Conn>>>,
    history: BTreeMap<usize, String>,
    count: usize,
    /// The last command's status: zkCli exits with it.
    pub exit_code: u8,
    pub printer: Printer,
    add_watch_mode: AddWatchMode,
}

impl Shell {
    pub fn new(rt: Handle, timeout: Duration, printer: Printer) -> Shell {
        Shell {
            rt,
            timeout,
            host: String::new(),
            conn: Arc::default(),
            history: BTreeMap::new(),
            count: 0,
            exit_code: 0,
            printer,
            add_watch_mode: AddWatchMode::PersistentRecursive,
        }
    }

    /// Opens a session on `host` (closing the current one first). A failure is reported and
    /// leaves the shell unconnected.
    pub fn connect(&mut self, host: &str) -> bool {
        self.close();
        self.host = host.to_string();
        let opened = self
            .rt
            .block_on(Conn::open(host, self.timeout, self.printer.clone()));
        match opened {
            Ok(c) => {
                *self.conn.lock().unwrap() = Some(c);
                true
            }
            Err(e) => {
                errln!("Unable to connect to {host}: {e}");
                false
            }
        }
    }

    pub fn close(&mut self) {
        let conn = self.conn.lock().unwrap().take();
        if let Some(mut c) = conn {
            if c.alive() {
                self.rt.block_on(c.close());
            }
        }
    }

    fn alive(&self) -> bool {
        self.conn.lock().unwrap().as_ref().is_some_and(Conn::alive)
    }

    pub fn prompt(&self) -> String {
        let state = self
            .conn
            .lock()
            .unwrap()
            .as_ref()
            .map(|c| *c.client.state().borrow());
        format!(
            "[zk: {}({}) {}] ",
            self.host,
            output::prompt_state(state),
            self.count
        )
    }

    /// `executeLine`: a non-blank line is numbered, kept in the history and run.
    pub fn execute_line(&mut self, line: &str) -> Flow {
        let words = tokenize(line);
        if words.is_empty() {
            return Flow::Continue;
        }
        self.history.insert(self.count, line.to_string());
        let flow = self.process(&words);
        self.count += 1;
        flow
    }

    /// `processCmd`: runs the words, prints an error on stderr, records the exit status.
    pub fn process(&mut self, words: &[String]) -> Flow {
        match self.process_zk(words) {
            Ok(Flow::Quit) => Flow::Quit,
            Ok(Flow::Continue) => {
                self.exit_code = 0;
                Flow::Continue
            }
            Err(e) => {
                self.exit_code = e.exit_code;
                errln!("{}", e.message);
                Flow::Continue
            }
        }
    }

    fn process_zk(&mut self, words: &[String]) -> Result<Flow, CliError> {
        let Some(cmd) = words.first().map(String::as_str) else {
            print_usage();
            return Err(CliError::new("No command entered"));
        };
        if !USAGES.iter().any(|(c, _)| *c == cmd) {
            print_usage();
            // zkCli's own doubled wording, exit status 127.
            return Err(CliError {
                message: format!("Command not found: Command not found {cmd}"),
                exit_code: 127,
            });
        }
        match cmd {
            "quit" => {
                self.close();
                return Ok(Flow::Quit);
            }
            "redo" if words.len() >= 2 => {
                let i = parse_java_int(&words[1])
                    .ok_or_else(|| CliError::new("Command index out of range"))?;
                if i < 0 || self.count as i64 <= i {
                    return Err(CliError::new("Command index out of range"));
                }
                let line = self.history.get(&(i as usize)).cloned().unwrap_or_default();
                let again = tokenize(&line);
                if again.first().map(String::as_str) == Some("redo") {
                    return Err(CliError::new("No redoing redos"));
                }
                self.history.insert(self.count, line);
                if self.process(&again) == Flow::Quit {
                    return Ok(Flow::Quit);
                }
            }
            "history" => {
                for i in self.count.saturating_sub(10)..=self.count {
                    let line = self.history.get(&i).map_or("null", String::as_str);
                    println!("{i} - {line}");
                }
            }
            "printwatches" => match words.get(1) {
                None => println!(
                    "printwatches is {}",
                    if self.printer.print_watches() {
                        "on"
                    } else {
                        "off"
                    }
                ),
                Some(v) => self.printer.set_print_watches(v == "on"),
            },
            "connect" => {
                let host = words.get(1).cloned().unwrap_or_else(|| self.host.clone());
                self.connect(&host);
            }
            "close" if self.alive() => {
                let conn = self.conn.lock().unwrap().take();
                if let Some(mut c) = conn {
                    self.rt.block_on(c.close());
                    // Kept, closed: the prompt says CLOSED, commands "Not connected".
                    *self.conn.lock().unwrap() = Some(c);
                }
                return Ok(Flow::Continue);
            }
            _ => {}
        }
        if !self.alive() {
            println!("Not connected");
            return Ok(Flow::Continue);
        }
        if matches!(cmd, "redo" | "history" | "printwatches" | "connect") {
            return Ok(Flow::Continue);
        }
        let guard = self.conn.lock().unwrap();
        let conn = guard.as_ref().expect("alive means connected");
        let mut mode = self.add_watch_mode;
        let r = self.rt.block_on(conn.exec(words, &mut mode));
        self.add_watch_mode = mode;
        r.map(|()| Flow::Continue)
    }

    /// The read loop: a line editor on a terminal, plain lines otherwise (no prompt, as
    /// zkCli prints none without JLine). Ends at `quit` or end of input.
    pub fn interactive(&mut self) {
        if std::io::stdin().is_terminal() {
            if let Err(e) = self.edit_loop() {
                errln!("line editor: {e}");
            }
        } else {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                let Ok(line) = line else { break };
                if self.execute_line(&line) == Flow::Quit {
                    return;
                }
            }
        }
        self.close();
    }

    fn edit_loop(&mut self) -> rustyline::Result<()> {
        let helper = ZkHelper {
            rt: self.rt.clone(),
            conn: self.conn.clone(),
        };
        // Bash-like, as JLine: complete the common prefix, list the candidates on a second Tab.
        let config = Config::builder()
            .completion_type(CompletionType::List)
            .auto_add_history(false)
            .build();
        let mut rl: Editor<ZkHelper, DefaultHistory> = Editor::with_config(config)?;
        rl.set_helper(Some(helper));
        let history_file = std::env::var_os("HOME")
            .map(|h| std::path::PathBuf::from(h).join(".corral_cli_history"));
        if let Some(f) = &history_file {
            let _ = rl.load_history(f);
        }
        if let Ok(mut p) = rl.create_external_printer() {
            self.printer.set_external(Box::new(move |text: String| {
                let _ = p.print(format!("{text}\n"));
            }));
        }
        loop {
            match rl.readline(&self.prompt()) {
                Ok(line) => {
                    if !line.trim().is_empty() {
                        let _ = rl.add_history_entry(line.as_str());
                    }
                    if self.execute_line(&line) == Flow::Quit {
                        break;
                    }
                }
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => break,
                Err(e) => return Err(e),
            }
        }
        if let Some(f) = &history_file {
            let _ = rl.save_history(f);
        }
        Ok(())
    }
}

/// `Integer.decode`: decimal, `0x`/`#` hex, leading-zero octal, with a sign.
fn parse_java_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(h) = body
        .strip_prefix("0x")
        .or(body.strip_prefix("0X"))
        .or(body.strip_prefix('#'))
    {
        i64::from_str_radix(h, 16).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        i64::from_str_radix(&body[1..], 8).ok()?
    } else {
        body.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

/// Tab completion as zkCli's `JLineZNodeCompleter`: the first word from the commands, a word
/// starting with `/` from the children of its parent znode.
struct ZkHelper {
    rt: Handle,
    conn: Arc<Mutex<Option<Conn>>>,
}

impl Completer for ZkHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before.rfind(char::is_whitespace).map_or(0, |i| {
            i + before[i..].chars().next().map_or(1, char::len_utf8)
        });
        let word = &before[start..];
        let pair = |s: String| Pair {
            display: s.clone(),
            replacement: s,
        };
        if before[..start].trim().is_empty() {
            let mut cands: Vec<Pair> = USAGES
                .iter()
                .filter(|(c, _)| c.starts_with(word))
                .map(|(c, _)| pair(format!("{c} ")))
                .collect();
            cands.sort_by(|a, b| a.display.cmp(&b.display));
            return Ok((start, cands));
        }
        if !word.starts_with('/') {
            return Ok((start, Vec::new()));
        }
        let slash = word.rfind('/').unwrap_or(0);
        let (dir, prefix) = (
            if slash == 0 { "/" } else { &word[..slash] },
            &word[slash + 1..],
        );
        let client = match self.conn.lock().unwrap().as_ref() {
            Some(c) if c.alive() => c.client.clone(),
            _ => return Ok((start, Vec::new())),
        };
        let children = self
            .rt
            .block_on(async {
                tokio::time::timeout(Duration::from_secs(2), client.get_children(dir)).await
            })
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let mut cands: Vec<Pair> = children
            .into_iter()
            .filter(|c| c.starts_with(prefix))
            .map(|c| pair(child_path(dir, &c)))
            .collect();
        cands.sort_by(|a, b| a.display.cmp(&b.display));
        Ok((start, cands))
    }
}

impl Hinter for ZkHelper {
    type Hint = String;
}
impl Highlighter for ZkHelper {}
impl Validator for ZkHelper {}
impl Helper for ZkHelper {}

#[cfg(test)]
mod tests {
    #[test]
    fn redo_numbers_as_integer_decode() {
        assert_eq!(super::parse_java_int("12"), Some(12));
        assert_eq!(super::parse_java_int("0x1f"), Some(31));
        assert_eq!(super::parse_java_int("010"), Some(8));
        assert_eq!(super::parse_java_int("-1"), Some(-1));
        assert_eq!(super::parse_java_int("x"), None);
    }
}
