//! The server side of DIGEST-MD5 (RFC 2831) as ZooKeeper's `SaslServer` runs it: `auth` only
//! (no integrity or privacy layer), one realm, one round.
//!
//! 1. The client's first token is empty; the server answers a challenge
//!    (`realm="zk-sasl-md5",nonce="…",qop="auth",charset=utf-8,algorithm=md5-sess`).
//! 2. The client answers with a digest-response; the server checks every directive as Java's
//!    `DigestMD5Server` does and, if the response hash is right, answers `rspauth=…`. The
//!    exchange is then complete and the authenticated user is the response's `username`.
//!
//! Any other token, or a second response, is a failure. Nothing here logs: a failure's
//! message never contains the password or a hash.

use md5::{Digest, Md5};

/// The realm and host ZooKeeper hard-codes for DIGEST-MD5 (`SaslServerCallbackHandler`,
/// `ZooKeeperSaslServer`): clients put it in `digest-uri` as `zookeeper/zk-sasl-md5`.
pub const REALM: &str = "zk-sasl-md5";
/// The SASL protocol (service) name ZooKeeper servers use.
pub const PROTOCOL: &str = "zookeeper";
/// The longest token this mechanism accepts; a real response is a few hundred bytes.
pub const MAX_RESPONSE_BYTES: usize = 4096;

/// Where the exchange is.
#[derive(Debug)]
enum State {
    Start,
    Challenged { nonce: String },
    Done,
}

/// One connection's DIGEST-MD5 exchange.
#[derive(Debug)]
pub struct DigestMd5Server {
    state: State,
}

/// What an accepted token leads to.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Send this challenge; the exchange goes on.
    Challenge(Vec<u8>),
    /// Send `rspauth`; the client authenticated as `user`.
    Complete { token: Vec<u8>, user: String },
}

/// Why the exchange failed, in words fit for a log line (never a secret).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("DIGEST-MD5: {0}")]
pub struct Failure(pub String);

fn fail<T>(why: impl Into<String>) -> Result<T, Failure> {
    Err(Failure(why.into()))
}

impl Default for DigestMd5Server {
    fn default() -> Self {
        Self::new()
    }
}

impl DigestMd5Server {
    pub fn new() -> DigestMd5Server {
        DigestMd5Server {
            state: State::Start,
        }
    }

    /// Takes the client's next token. `nonce` is called once, for the challenge;
    /// `password` looks a user up (`None`: no such user).
    pub fn evaluate(
        &mut self,
        token: &[u8],
        nonce: impl FnOnce() -> String,
        password: impl Fn(&str) -> Option<String>,
    ) -> Result<Step, Failure> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Start => {
                if !token.is_empty() {
                    return fail("initial response not allowed");
                }
                let nonce = nonce();
                let challenge = format!(
                    "realm=\"{REALM}\",nonce=\"{nonce}\",qop=\"auth\",charset=utf-8,\
                     algorithm=md5-sess"
                );
                self.state = State::Challenged { nonce };
                Ok(Step::Challenge(challenge.into_bytes()))
            }
            State::Challenged { nonce } => {
                let response = parse_directives(token)?;
                let (user, rspauth) = verify(&response, &nonce, password)?;
                Ok(Step::Complete {
                    token: format!("rspauth={rspauth}").into_bytes(),
                    user,
                })
            }
            State::Done => fail("authentication exchange already finished"),
        }
    }
}

/// A digest-response's directives, values unquoted, in order.
#[derive(Debug, Default)]
struct Directives(Vec<(String, Vec<u8>)>);

impl Directives {
    /// The value of `key`; a directive given twice is refused (RFC 2831 §2.1.2).
    fn get(&self, key: &str) -> Result<Option<&[u8]>, Failure> {
        let mut found = self.0.iter().filter(|(k, _)| k.eq_ignore_ascii_case(key));
        let first = found.next().map(|(_, v)| v.as_slice());
        if found.next().is_some() {
            return fail(format!("directive '{key}' given more than once"));
        }
        Ok(first)
    }

    fn require(&self, key: &str) -> Result<&[u8], Failure> {
        self.get(key)?
            .ok_or_else(|| Failure(format!("digest-response lacks '{key}'")))
    }
}

/// Parses `key=value` pairs separated by commas (with optional white space); a value is a
/// token or a quoted string in which `\` escapes the next byte. Empty elements are allowed.
fn parse_directives(input: &[u8]) -> Result<Directives, Failure> {
    if input.len() > MAX_RESPONSE_BYTES {
        return fail("digest-response too long");
    }
    let mut out = Directives::default();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < input.len() && input[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if i == input.len() {
            return Ok(out);
        }
        if input[i] == b',' {
            i += 1;
            continue;
        }
        let key_start = i;
        while i < input.len() && input[i] != b'=' && input[i] != b',' {
            i += 1;
        }
        if i == input.len() || input[i] != b'=' {
            return fail("malformed digest-response");
        }
        let key = String::from_utf8_lossy(&input[key_start..i])
            .trim()
            .to_string();
        i += 1;
        skip_ws(&mut i);
        let mut value = Vec::new();
        if i < input.len() && input[i] == b'"' {
            i += 1;
            loop {
                match input.get(i) {
                    None => return fail("unterminated quoted string in digest-response"),
                    Some(b'"') => break,
                    Some(b'\\') if i + 1 < input.len() => {
                        value.push(input[i + 1]);
                        i += 2;
                    }
                    Some(&b) => {
                        value.push(b);
                        i += 1;
                    }
                }
            }
            i += 1;
            skip_ws(&mut i);
            if i < input.len() && input[i] != b',' {
                return fail("malformed digest-response");
            }
        } else {
            while i < input.len() && input[i] != b',' {
                value.push(input[i]);
                i += 1;
            }
            while value.last().is_some_and(u8::is_ascii_whitespace) {
                value.pop();
            }
        }
        out.0.push((key, value));
    }
}

/// Checks a digest-response against the challenge's `nonce`; on success, the user and the
/// `rspauth` value.
fn verify(
    r: &Directives,
    nonce: &str,
    password: impl Fn(&str) -> Option<String>,
) -> Result<(String, String), Failure> {
    let utf8 = match r.get("charset")? {
        None => false,
        Some(c) if c.eq_ignore_ascii_case(b"utf-8") => true,
        Some(_) => return fail("unsupported charset"),
    };
    // Without `charset=utf-8` strings are ISO 8859-1 (RFC 2831 §2.1.2).
    let text = |b: &[u8]| -> Result<String, Failure> {
        if utf8 {
            String::from_utf8(b.to_vec()).map_err(|_| Failure("invalid UTF-8".into()))
        } else {
            Ok(b.iter().map(|&c| c as char).collect())
        }
    };
    let user = text(r.require("username")?)?;
    let realm = match r.get("realm")? {
        Some(v) => text(v)?,
        None => return fail("digest-response lacks 'realm'"),
    };
    if realm != REALM {
        return fail("nonexistent realm");
    }
    if r.require("nonce")? != nonce.as_bytes() {
        return fail("mismatched nonce");
    }
    let cnonce = r.require("cnonce")?;
    // One round only: the nonce count is always the first.
    if r.require("nc")? != b"00000001" {
        return fail("nonce count does not match");
    }
    let qop = r.get("qop")?.unwrap_or(b"auth");
    if qop != b"auth" {
        return fail("qop not offered");
    }
    let digest_uri = r.require("digest-uri")?;
    let expected_uri = format!("{PROTOCOL}/{REALM}");
    if !digest_uri.eq_ignore_ascii_case(expected_uri.as_bytes()) {
        return fail("digest-uri does not name this service");
    }
    let authzid = r.get("authzid")?;
    let client_hash = r.require("response")?;
    let Some(pass) = password(&user) else {
        return fail("cannot acquire password for the user");
    };
    let secret = md5_bytes(&[&encode(&user), b":", &encode(&realm), b":", &encode(&pass)]);
    let params = Params {
        secret,
        nonce: nonce.as_bytes(),
        cnonce,
        nc: b"00000001",
        authzid,
        digest_uri,
    };
    let expected = params.response(b"AUTHENTICATE:");
    if !constant_time_eq(client_hash, expected.as_bytes()) {
        return fail("mismatched response");
    }
    Ok((user, params.response(b":")))
}

/// What both hashes of RFC 2831 §2.1.2.1 are made of.
struct Params<'a> {
    /// `H(username ":" realm ":" passwd)`.
    secret: [u8; 16],
    nonce: &'a [u8],
    cnonce: &'a [u8],
    nc: &'a [u8],
    authzid: Option<&'a [u8]>,
    digest_uri: &'a [u8],
}

impl Params<'_> {
    /// `response-value` with `A2 = a2_prefix digest-uri`: `"AUTHENTICATE:"` for the client's
    /// response, `":"` for the server's `rspauth`.
    fn response(&self, a2_prefix: &[u8]) -> String {
        let mut a1 = vec![&self.secret[..], b":", self.nonce, b":", self.cnonce];
        if let Some(authzid) = self.authzid {
            a1.extend([&b":"[..], authzid]);
        }
        let ha1 = hex(&md5_bytes(&a1));
        let ha2 = hex(&md5_bytes(&[a2_prefix, self.digest_uri]));
        hex(&md5_bytes(&[
            ha1.as_bytes(),
            b":",
            self.nonce,
            b":",
            self.nc,
            b":",
            self.cnonce,
            b":auth:",
            ha2.as_bytes(),
        ]))
    }
}

/// Java's `stringToByte_8859_1`: ISO 8859-1 when every character fits, else UTF-8.
/// Without `charset=utf-8` a JAAS password beyond ISO 8859-1 cannot be sent by any client:
/// its UTF-8 is hashed, which simply never matches.
fn encode(s: &str) -> Vec<u8> {
    if s.chars().all(|c| (c as u32) < 0x100) {
        s.chars().map(|c| c as u8).collect()
    } else {
        s.as_bytes().to_vec()
    }
}

fn md5_bytes(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares without stopping at the first difference, so timing says nothing of the hash.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2831 §4's IMAP example, with its realm and service in place of ZooKeeper's: the
    /// same hash functions must give the RFC's `response` and `rspauth`.
    #[test]
    fn rfc_2831_example_values() {
        let params = Params {
            secret: md5_bytes(&[b"chris:elwood.innosoft.com:secret"]),
            nonce: b"OA6MG9tEQGm2hh",
            cnonce: b"OA6MHXh6VqTrRk",
            nc: b"00000001",
            authzid: None,
            digest_uri: b"imap/elwood.innosoft.com",
        };
        assert_eq!(
            params.response(b"AUTHENTICATE:"),
            "d388dad90d4bbd760a152321f2143af7"
        );
        assert_eq!(params.response(b":"), "ea40f60335c427b5527b84dbabcdfffd");
    }

    fn users(name: &str) -> Option<String> {
        (name == "bob").then(|| "bobsecret".to_string())
    }

    /// A client's response as pure-sasl builds it, for `user`/`pass` against `nonce`.
    fn client_response(user: &str, pass: &str, nonce: &str, extra: &str) -> Vec<u8> {
        let cnonce = b"c0ffee";
        let params = Params {
            secret: md5_bytes(&[format!("{user}:{REALM}:{pass}").as_bytes()]),
            nonce: nonce.as_bytes(),
            cnonce,
            nc: b"00000001",
            authzid: None,
            digest_uri: b"zookeeper/zk-sasl-md5",
        };
        let hash = params.response(b"AUTHENTICATE:");
        format!(
            "qop=auth,realm=\"zk-sasl-md5\",username=\"{user}\",nonce=\"{nonce}\",\
             cnonce=\"c0ffee\",nc=00000001,digest-uri=\"zookeeper/zk-sasl-md5\",\
             response={hash}{extra}"
        )
        .into_bytes()
    }

    fn challenged() -> DigestMd5Server {
        let mut s = DigestMd5Server::new();
        let step = s.evaluate(b"", || "n0nce".into(), users).unwrap();
        assert_eq!(
            step,
            Step::Challenge(
                b"realm=\"zk-sasl-md5\",nonce=\"n0nce\",qop=\"auth\",charset=utf-8,\
                  algorithm=md5-sess"
                    .to_vec()
            )
        );
        s
    }

    #[test]
    fn right_password_completes_with_rspauth() {
        let mut s = challenged();
        let step = s
            .evaluate(
                &client_response("bob", "bobsecret", "n0nce", ""),
                || unreachable!(),
                users,
            )
            .unwrap();
        let Step::Complete { token, user } = step else {
            panic!("not complete: {step:?}")
        };
        assert_eq!(user, "bob");
        assert!(token.starts_with(b"rspauth=") && token.len() == 8 + 32);
        // Nothing more is accepted afterwards.
        assert!(s.evaluate(b"", || unreachable!(), users).is_err());
    }

    #[test]
    fn refusals() {
        let cases: [(&str, Vec<u8>); 8] = [
            (
                "wrong password",
                client_response("bob", "nope", "n0nce", ""),
            ),
            (
                "unknown user",
                client_response("eve", "bobsecret", "n0nce", ""),
            ),
            (
                "stale nonce",
                client_response("bob", "bobsecret", "old", ""),
            ),
            (
                "duplicate directive",
                client_response("bob", "bobsecret", "n0nce", ",nc=00000001"),
            ),
            (
                "qop auth-int",
                String::from_utf8(client_response("bob", "bobsecret", "n0nce", ""))
                    .unwrap()
                    .replace("qop=auth,", "qop=auth-int,")
                    .into_bytes(),
            ),
            ("garbage", b"\x00\xff==,,\"".to_vec()),
            ("unterminated", b"username=\"bob".to_vec()),
            ("empty", b"".to_vec()),
        ];
        for (what, token) in cases {
            let mut s = challenged();
            let err = s.evaluate(&token, || unreachable!(), users);
            assert!(err.is_err(), "{what}: accepted");
            let msg = err.unwrap_err().to_string();
            assert!(!msg.contains("bobsecret"), "{what}: secret in {msg}");
        }
    }

    #[test]
    fn initial_response_is_refused() {
        let mut s = DigestMd5Server::new();
        assert!(s.evaluate(b"x", || "n".into(), users).is_err());
    }

    #[test]
    fn directive_parsing() {
        let d = parse_directives(b" a=1 , b=\"x\\\"y,z\",, c = tok ").unwrap();
        assert_eq!(d.get("a").unwrap(), Some(&b"1"[..]));
        assert_eq!(d.get("B").unwrap(), Some(&b"x\"y,z"[..]));
        assert_eq!(d.get("c").unwrap(), Some(&b"tok"[..]));
        assert_eq!(d.get("d").unwrap(), None);
        assert!(parse_directives(b"a=\"x\"y").is_err());
        assert!(parse_directives(b"novalue").is_err());
        assert!(parse_directives(&vec![b'a'; MAX_RESPONSE_BYTES + 1]).is_err());
    }
}
