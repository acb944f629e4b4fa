//! A JAAS login configuration file, as Java's `ConfigFile` reads it:
//!
//! ```text
//! Server {
//!     org.apache.zookeeper.server.auth.DigestLoginModule required
//!     user_super="adminsecret"
//!     user_bob="bobsecret";
//! };
//! ```
//!
//! Sections (`Name { … };`) of login modules (`class flag key=value … ;`); values are quoted
//! strings (`\` escapes) or bare words; `//` and `/* */` are comments. `${property}`
//! expansion is not done: corral has no Java system properties.

use std::collections::BTreeMap;

/// The longest JAAS file read; real ones are a few hundred bytes.
pub const MAX_JAAS_FILE_BYTES: usize = 1 << 20;

/// One login module line of a section.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginModule {
    pub class: String,
    /// `required`, `requisite`, `sufficient` or `optional`.
    pub flag: String,
    pub options: Vec<(String, String)>,
}

/// Options hold passwords: only their names are printed.
impl std::fmt::Debug for LoginModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&str> = self.options.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("LoginModule")
            .field("class", &self.class)
            .field("flag", &self.flag)
            .field("option_names", &keys)
            .finish()
    }
}

/// The sections of a JAAS file by name.
pub type Jaas = BTreeMap<String, Vec<LoginModule>>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Punct(char),
}

/// Parses a whole file. An error names the line, never a value.
pub fn parse(text: &str) -> Result<Jaas, String> {
    let tokens = tokenize(text)?;
    let mut it = tokens.into_iter().peekable();
    let mut out = Jaas::new();
    while let Some((line, tok)) = it.next() {
        let Token::Word(name) = tok else {
            return Err(format!("line {line}: expected a section name"));
        };
        expect(&mut it, '{', line)?;
        let mut modules = Vec::new();
        loop {
            match it.next() {
                Some((_, Token::Punct('}'))) => break,
                Some((l, Token::Word(class))) => modules.push(module(&mut it, class, l)?),
                Some((l, _)) => return Err(format!("line {l}: expected a login module class")),
                None => return Err(format!("section {name}: missing '}}'")),
            }
        }
        expect(&mut it, ';', line)?;
        if out.insert(name.clone(), modules).is_some() {
            return Err(format!("line {line}: section {name} is given twice"));
        }
    }
    Ok(out)
}

type Tokens = std::iter::Peekable<std::vec::IntoIter<(usize, Token)>>;

fn expect(it: &mut Tokens, c: char, line: usize) -> Result<(), String> {
    match it.next() {
        Some((_, Token::Punct(p))) if p == c => Ok(()),
        Some((l, _)) => Err(format!("line {l}: expected '{c}'")),
        None => Err(format!(
            "line {line}: expected '{c}' before the end of the file"
        )),
    }
}

/// `class flag key=value … ;`
fn module(it: &mut Tokens, class: String, line: usize) -> Result<LoginModule, String> {
    let flag = match it.next() {
        Some((_, Token::Word(f)))
            if ["required", "requisite", "sufficient", "optional"]
                .contains(&f.to_ascii_lowercase().as_str()) =>
        {
            f.to_ascii_lowercase()
        }
        _ => return Err(format!("line {line}: {class}: expected a control flag (required, requisite, sufficient or optional)")),
    };
    let mut options = Vec::new();
    loop {
        match it.next() {
            Some((_, Token::Punct(';'))) => break,
            Some((l, Token::Word(key))) => {
                expect(it, '=', l)?;
                let value = match it.next() {
                    Some((_, Token::Quoted(v) | Token::Word(v))) => v,
                    _ => return Err(format!("line {l}: option {key} has no value")),
                };
                options.push((key, value));
            }
            Some((l, _)) => return Err(format!("line {l}: expected an option or ';'")),
            None => return Err(format!("line {line}: {class}: missing ';'")),
        }
    }
    Ok(LoginModule {
        class,
        flag,
        options,
    })
}

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                let start = line;
                i += 2;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("line {start}: unterminated comment")),
                        Some('*') if chars.get(i + 1) == Some(&'/') => break,
                        Some('\n') => line += 1,
                        _ => {}
                    }
                    i += 1;
                }
                i += 2;
            }
            '{' | '}' | ';' | '=' => {
                out.push((line, Token::Punct(c)));
                i += 1;
            }
            '"' => {
                let start = line;
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("line {start}: unterminated quoted string")),
                        Some('"') => break,
                        Some('\\') if i + 1 < chars.len() => {
                            s.push(match chars[i + 1] {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                other => other,
                            });
                            i += 2;
                            continue;
                        }
                        Some('\n') => {
                            // Java's StreamTokenizer ends a quoted string at a line end.
                            return Err(format!("line {start}: unterminated quoted string"));
                        }
                        Some(&ch) => s.push(ch),
                    }
                    i += 1;
                }
                i += 1;
                out.push((start, Token::Quoted(s)));
            }
            _ => {
                let mut s = String::new();
                while i < chars.len() && !chars[i].is_whitespace() && !"{};=\"".contains(chars[i]) {
                    s.push(chars[i]);
                    i += 1;
                }
                out.push((line, Token::Word(s)));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zookeeper_admin_guide_example() {
        let text = r#"
            // The server's users.
            Server {
                   org.apache.zookeeper.server.auth.DigestLoginModule required
                   user_super="adminsecret"
                   user_bob="bob\"secret";
            };
            /* what the client uses */
            Client {
                   org.apache.zookeeper.server.auth.DigestLoginModule required
                   username=bob
                   password="bobsecret";
            };
        "#;
        let jaas = parse(text).unwrap();
        let server = &jaas["Server"];
        assert_eq!(server.len(), 1);
        assert_eq!(
            server[0].class,
            "org.apache.zookeeper.server.auth.DigestLoginModule"
        );
        assert_eq!(server[0].flag, "required");
        assert_eq!(
            server[0].options,
            vec![
                ("user_super".to_string(), "adminsecret".to_string()),
                ("user_bob".to_string(), "bob\"secret".to_string()),
            ]
        );
        assert_eq!(jaas["Client"][0].options[0].1, "bob");
        let shown = format!("{jaas:?}");
        assert!(!shown.contains("adminsecret"), "{shown}");
    }

    #[test]
    fn errors_name_the_line_not_the_value() {
        for (text, want) in [
            ("Server { x required a=\"1\" }", "line 1"),
            ("Server {\n x maybe a=1; };", "control flag"),
            ("Server {\n x required a=\"secret\n\"; };", "unterminated"),
            ("Server {\n x required a; };", "line 2"),
            ("Server { };\nServer { };", "twice"),
            ("/* never closed", "unterminated comment"),
            ("{ };", "section name"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
            assert!(!err.contains("secret"), "{err}");
        }
    }
}
