//! Command lines as zkCli.sh reads them: words split as its `ARGS_PATTERN` does (a word, or
//! a whole "double-" or 'single-'quoted string without its quotes), then each command's flags
//! parsed as Apache commons-cli's `DefaultParser` does (flags anywhere, `-sw` bundles,
//! `-v 3` or `-v3`, `--` ends the flags, an unknown flag is an error).

use std::collections::HashMap;

/// A command's failure: the message zkCli prints on stderr and the exit status a one-shot
/// run ends with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub message: String,
    pub exit_code: u8,
}

impl CliError {
    /// Most of zkCli's exceptions (`CliException`'s default exit status is 1).
    pub fn new(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            exit_code: 1,
        }
    }
}

/// Splits a line into words. An unmatched quote is skipped, as zkCli's regex skips it.
pub fn tokenize(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_java_space(c) {
            i += 1;
            continue;
        }
        if c == '"' || c == '\'' {
            match chars[i + 1..].iter().position(|&d| d == c) {
                Some(len) => {
                    out.push(chars[i + 1..i + 1 + len].iter().collect());
                    i += len + 2;
                }
                None => i += 1,
            }
            continue;
        }
        let start = i;
        while i < chars.len() && !is_java_space(chars[i]) {
            i += 1;
        }
        out.push(chars[start..i].iter().collect());
    }
    out
}

/// `\s` in a Java regex.
fn is_java_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r')
}

/// One flag a command accepts: its name (without the dash) and whether it takes a value.
pub type FlagSpec = (&'static str, bool);

/// A parsed command: `args[0]` is the command name, then the words that are not flags.
#[derive(Debug, Default)]
pub struct Parsed {
    pub args: Vec<String>,
    flags: HashMap<String, Option<String>>,
}

impl Parsed {
    pub fn has(&self, flag: &str) -> bool {
        self.flags.contains_key(flag)
    }

    pub fn value(&self, flag: &str) -> Option<&str> {
        self.flags.get(flag).and_then(|v| v.as_deref())
    }

    /// The `n`th word (0 is the command).
    pub fn arg(&self, n: usize) -> Option<&str> {
        self.args.get(n).map(String::as_str)
    }
}

/// Parses `words` (command first) against `spec`; errors read as commons-cli's exceptions do
/// when zkCli prints them.
pub fn parse(words: &[String], spec: &[FlagSpec]) -> Result<Parsed, CliError> {
    let known = |name: &str| spec.iter().find(|(n, _)| *n == name).copied();
    let mut parsed = Parsed::default();
    let mut i = 0;
    let mut only_args = false;
    while i < words.len() {
        let w = &words[i];
        i += 1;
        if only_args || w == "-" || !w.starts_with('-') {
            parsed.args.push(w.clone());
            continue;
        }
        if w == "--" {
            only_args = true;
            continue;
        }
        let name = w.trim_start_matches('-');
        if let Some((n, takes_value)) = known(name) {
            let value = if takes_value {
                match words.get(i) {
                    Some(v) if !(v.starts_with('-') && known(v.trim_start_matches('-')).is_some()) => {
                        i += 1;
                        Some(v.clone())
                    }
                    _ => {
                        return Err(CliError::new(format!(
                            "org.apache.commons.cli.MissingArgumentException: Missing argument for option: {n}"
                        )))
                    }
                }
            } else {
                None
            };
            parsed.flags.insert(n.to_string(), value);
            continue;
        }
        if name.parse::<f64>().is_ok() {
            // A negative number that is no flag is a word, as in commons-cli.
            parsed.args.push(w.clone());
            continue;
        }
        // `-v3` (a value glued to its flag) or `-sw` (bundled flags).
        let first: String = name.chars().take(1).collect();
        match known(&first) {
            Some((n, true)) if w.starts_with('-') && !w.starts_with("--") => {
                parsed
                    .flags
                    .insert(n.to_string(), Some(name[first.len()..].to_string()));
            }
            Some((_, false)) if !w.starts_with("--") => {
                for c in name.chars() {
                    match known(&c.to_string()) {
                        Some((n, false)) => {
                            parsed.flags.insert(n.to_string(), None);
                        }
                        _ => return Err(unrecognized(w)),
                    }
                }
            }
            _ => return Err(unrecognized(w)),
        }
    }
    Ok(parsed)
}

fn unrecognized(w: &str) -> CliError {
    CliError::new(format!(
        "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: {w}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        tokenize(s)
    }

    #[test]
    fn splits_like_zkcli() {
        assert_eq!(
            words("  create /a \"x y\" 'z'"),
            ["create", "/a", "x y", "z"]
        );
        assert_eq!(words("set /a \"unclosed"), ["set", "/a", "unclosed"]);
        assert_eq!(words("set /a b\"c"), ["set", "/a", "b\"c"]);
        assert_eq!(words("set /a \"\""), ["set", "/a", ""]);
        assert!(words("   ").is_empty());
    }

    #[test]
    fn flags_anywhere_bundled_and_glued() {
        let spec = [("s", false), ("w", false), ("v", true)];
        let p = parse(&words("get /a -s"), &spec).unwrap();
        assert_eq!(p.args, ["get", "/a"]);
        assert!(p.has("s") && !p.has("w"));
        let p = parse(&words("get -sw /a"), &spec).unwrap();
        assert!(p.has("s") && p.has("w"));
        let p = parse(&words("set -v3 /a x"), &spec).unwrap();
        assert_eq!(p.value("v"), Some("3"));
        let p = parse(&words("set -v 3 /a -1"), &spec).unwrap();
        assert_eq!(p.value("v"), Some("3"));
        assert_eq!(p.args, ["set", "/a", "-1"]);
        assert_eq!(
            parse(&words("get -x /a"), &spec).unwrap_err().message,
            "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x"
        );
        assert_eq!(
            parse(&words("set /a x -v"), &spec).unwrap_err().message,
            "org.apache.commons.cli.MissingArgumentException: Missing argument for option: v"
        );
    }
}
