//! A small JSON value, writer and reader: the admin server's answers and the dashboard's
//! request bodies need no more (and corral keeps serde out of the server crate).

use std::fmt::Write;

pub enum Json {
    Null,
    Bool(bool),
    /// A number, already printed (integers stay exact).
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn num(n: impl std::fmt::Display) -> Json {
        Json::Num(n.to_string())
    }

    pub fn str(s: impl Into<String>) -> Json {
        Json::Str(s.into())
    }

    /// A number if the text reads as one (as ZooKeeper's `mntr` values are), else a string.
    pub fn guess(text: &str) -> Json {
        // Rust reads "+1", "inf" and "1." as numbers; JSON does not.
        let json_like = text.starts_with(|c: char| c == '-' || c.is_ascii_digit())
            && text.ends_with(|c: char| c.is_ascii_digit());
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() && json_like => Json::Num(text.to_string()),
            _ => Json::Str(text.to_string()),
        }
    }

    pub fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(n) => out.push_str(n),
            Json::Str(s) => quote(s, out),
            Json::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Json::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    quote(k, out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    pub fn to_text(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }
}

/// Nesting deeper than this is refused rather than followed (the reader recurses).
const MAX_DEPTH: usize = 32;

impl Json {
    /// Reads one JSON value (RFC 8259) filling all of `text`; the error says where it broke.
    pub fn parse(text: &str) -> Result<Json, String> {
        let mut r = Reader {
            bytes: text.as_bytes(),
            at: 0,
        };
        let v = r.value(0)?;
        r.blank();
        if r.at != r.bytes.len() {
            return Err(format!("unexpected text at byte {}", r.at));
        }
        Ok(v)
    }

    /// The value of `key` in an object (`None` for other values or a missing key).
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// An integer that fits `i64` (`1.5` or `1e3` are not).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Num(n) => n.parse().ok(),
            _ => None,
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn blank(&mut self) {
        while matches!(self.bytes.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn fail<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at byte {}", self.at))
    }

    fn eat(&mut self, word: &str) -> bool {
        let found = self.bytes[self.at..].starts_with(word.as_bytes());
        if found {
            self.at += word.len();
        }
        found
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > MAX_DEPTH {
            return self.fail("nested too deeply");
        }
        self.blank();
        match self.bytes.get(self.at) {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Json::Str),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ if self.eat("null") => Ok(Json::Null),
            _ if self.eat("true") => Ok(Json::Bool(true)),
            _ if self.eat("false") => Ok(Json::Bool(false)),
            _ => self.fail("expected a value"),
        }
    }

    /// Items separated by commas up to `close`, the opening bracket already at `self.at`.
    fn items(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Result<(), String>,
    ) -> Result<(), String> {
        self.at += 1;
        self.blank();
        if self.bytes.get(self.at) == Some(&close) {
            self.at += 1;
            return Ok(());
        }
        loop {
            item(self)?;
            self.blank();
            match self.bytes.get(self.at) {
                Some(b',') => self.at += 1,
                Some(&c) if c == close => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return self.fail("expected ',' or a closing bracket"),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, String> {
        let mut fields = Vec::new();
        self.items(b'}', |r| {
            r.blank();
            if r.bytes.get(r.at) != Some(&b'"') {
                return r.fail("expected a key");
            }
            let key = r.string()?;
            r.blank();
            if !r.eat(":") {
                return r.fail("expected ':'");
            }
            fields.push((key, r.value(depth + 1)?));
            Ok(())
        })?;
        Ok(Json::Obj(fields))
    }

    fn array(&mut self, depth: usize) -> Result<Json, String> {
        let mut items = Vec::new();
        self.items(b']', |r| {
            items.push(r.value(depth + 1)?);
            Ok(())
        })?;
        Ok(Json::Arr(items))
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.at;
        while matches!(
            self.bytes.get(self.at),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.at += 1;
        }
        let text = std::str::from_utf8(&self.bytes[start..self.at]).unwrap_or_default();
        match Json::guess(text) {
            n @ Json::Num(_) => Ok(n),
            _ => self.fail("malformed number"),
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self.bytes.get(self.at..self.at + 4);
        let text = digits.and_then(|d| std::str::from_utf8(d).ok());
        match text.and_then(|t| u32::from_str_radix(t, 16).ok()) {
            Some(v) => {
                self.at += 4;
                Ok(v)
            }
            None => self.fail("malformed \\u escape"),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.at += 1; // the opening quote
        let mut out = String::new();
        loop {
            let start = self.at;
            while !matches!(self.bytes.get(self.at), None | Some(b'"' | b'\\')) {
                if self.bytes[self.at] < 0x20 {
                    return self.fail("control character in a string");
                }
                self.at += 1;
            }
            // The input is a &str and we stopped at ASCII, so this slice is whole UTF-8.
            out.push_str(std::str::from_utf8(&self.bytes[start..self.at]).unwrap_or_default());
            match self.bytes.get(self.at) {
                None => return self.fail("unterminated string"),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                _ => {}
            }
            self.at += 1; // the backslash
            let Some(&c) = self.bytes.get(self.at) else {
                return self.fail("unterminated string");
            };
            self.at += 1;
            match c {
                b'"' | b'\\' | b'/' => out.push(c as char),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let mut code = self.hex4()?;
                    if (0xd800..0xdc00).contains(&code) && self.eat("\\u") {
                        let low = self.hex4()?;
                        code =
                            0x10000 + ((code - 0xd800) << 10) + (low.wrapping_sub(0xdc00) & 0x3ff);
                    }
                    match char::from_u32(code) {
                        Some(ch) => out.push(ch),
                        None => return self.fail("invalid \\u escape"),
                    }
                }
                _ => return self.fail("unknown escape"),
            }
        }
    }
}

fn quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_nested_values_with_escapes() {
        let v = Json::Obj(vec![
            ("command".into(), Json::str("ruok")),
            ("error".into(), Json::Null),
            (
                "x".into(),
                Json::Arr(vec![
                    Json::num(1),
                    Json::Bool(true),
                    Json::str("a\"\n\u{1}"),
                ]),
            ),
        ]);
        assert_eq!(
            v.to_text(),
            r#"{"command":"ruok","error":null,"x":[1,true,"a\"\n\u0001"]}"#
        );
        assert!(matches!(Json::guess("0.5"), Json::Num(_)));
        assert!(matches!(Json::guess("leader"), Json::Str(_)));
        assert!(matches!(Json::guess("+1"), Json::Str(_)));
    }

    #[test]
    fn reads_what_it_writes() {
        let text = r#"{"a":[1,-2.5,true,false,null],"b":{"c":"x\"\n\u00e9\ud83d\ude00"}}"#;
        let v = Json::parse(text).unwrap();
        assert_eq!(
            v.get("b").and_then(|b| b.get("c")).and_then(Json::as_str),
            Some("x\"\né😀")
        );
        assert_eq!(Json::parse(&v.to_text()).unwrap().to_text(), v.to_text());
        assert_eq!(Json::parse(" 42 ").unwrap().as_i64(), Some(42));
    }

    #[test]
    fn refuses_malformed_input() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "{1:2}",
            "\"abc",
            "01x",
            "+1",
            "tru",
            "[1] 2",
            "\"\\q\"",
            "\"\\u12\"",
            "\"a\u{1}\"",
        ] {
            assert!(Json::parse(bad).is_err(), "{bad:?}");
        }
        let deep = "[".repeat(MAX_DEPTH + 2) + &"]".repeat(MAX_DEPTH + 2);
        assert!(Json::parse(&deep).is_err());
    }
}
