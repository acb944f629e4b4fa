//! A small JSON value and writer: the admin server's answers need no more (and corral keeps
//! serde out of the server crate).

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
}
