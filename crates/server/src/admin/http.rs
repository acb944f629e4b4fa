//! A minimal HTTP/1.1 server for the admin and metrics ports: one request per connection,
//! answered and closed (`Connection: close`). A request head over [`MAX_REQUEST_BYTES`], a
//! body over [`MAX_BODY_BYTES`] or a request slower than [`REQUEST_TIMEOUT_MS`] is refused.
//! A body is read only when `Content-Length` announces one (the dashboard's POSTs); chunked
//! bodies are not accepted.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The longest request head (request line and headers) read.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// Time a client has to send its request head, and the core to answer it.
pub const REQUEST_TIMEOUT_MS: u64 = 5_000;
/// The longest request body read (a dashboard write: up to jute.maxbuffer of data, base64).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// Admin connections served at once; more wait in the kernel's backlog.
const MAX_CONCURRENT_REQUESTS: usize = 64;

/// What a request head says, once it is whole.
#[derive(Debug, PartialEq, Eq)]
pub struct RequestHead {
    pub method: String,
    /// The path, without a query string.
    pub path: String,
    /// The query string, without its `?` (empty when there is none).
    pub query: String,
    /// Header fields, names in lower case, in arrival order.
    pub headers: Vec<(String, String)>,
    /// Where the body starts in the bytes parsed.
    pub body_at: usize,
}

impl RequestHead {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A whole request: its head and its body.
#[derive(Debug)]
pub struct Request {
    pub head: RequestHead,
    pub body: Vec<u8>,
}

impl Request {
    /// The value of `name` in the query string, percent-decoded (`+` is a space).
    pub fn param(&self, name: &str) -> Option<String> {
        self.head.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k)? == name).then(|| percent_decode(v))?
        })
    }
}

/// `None` for a malformed escape or bytes that are not UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[derive(Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Longer than [`MAX_REQUEST_BYTES`] without ending.
    TooLarge,
    Malformed,
}

/// `Ok(None)` while the head has not ended ("not yet"), an error when it never can ("wrong").
pub fn parse_head(buf: &[u8]) -> Result<Option<RequestHead>, ParseError> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() >= MAX_REQUEST_BYTES {
            Err(ParseError::TooLarge)
        } else {
            Ok(None)
        };
    };
    if end > MAX_REQUEST_BYTES {
        return Err(ParseError::TooLarge);
    }
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| ParseError::Malformed)?;
    let mut lines = head.split("\r\n");
    let line = lines.next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::Malformed);
    };
    if method.is_empty() || !target.starts_with('/') || !version.starts_with("HTTP/1.") {
        return Err(ParseError::Malformed);
    }
    let target = target.split('#').next().unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::new();
    for field in lines {
        let (name, value) = field.split_once(':').ok_or(ParseError::Malformed)?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok(Some(RequestHead {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body_at: end + 4,
    }))
}

/// The body length a head announces: `Err` for a chunked body, a malformed length or one
/// over [`MAX_BODY_BYTES`] (the status to answer with).
fn body_length(head: &RequestHead) -> Result<usize, u16> {
    if head.header("transfer-encoding").is_some() {
        return Err(411);
    }
    match head.header("content-length") {
        None => Ok(0),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n > MAX_BODY_BYTES => Err(413),
            Ok(n) => Ok(n),
            Err(_) => Err(400),
        },
    }
}

/// An answer to send.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

pub const JSON: &str = "application/json";

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

pub fn encode(r: &Response) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        r.status,
        reason(r.status),
        r.content_type,
        r.body.len()
    )
    .into_bytes();
    out.extend_from_slice(r.body.as_bytes());
    out
}

/// A JSON error answer with ZooKeeper's `command`/`error` fields.
pub fn error(status: u16, command: &str, why: &str) -> Response {
    use super::json::Json;
    let body = Json::Obj(vec![
        ("command".into(), Json::str(command)),
        ("error".into(), Json::str(why)),
    ]);
    Response {
        status,
        content_type: JSON,
        body: body.to_text(),
    }
}

/// Serves `listener` forever, answering each request with `route(request)`.
pub async fn serve<F, Fut>(listener: TcpListener, route: F)
where
    F: Fn(Request) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Response> + Send,
{
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_REQUESTS));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("admin accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let route = route.clone();
        tokio::spawn(async move {
            let limit = Duration::from_millis(REQUEST_TIMEOUT_MS);
            if tokio::time::timeout(limit, answer(stream, peer, route))
                .await
                .is_err()
            {
                tracing::debug!("admin request from {peer} timed out");
            }
            drop(permit);
        });
    }
}

async fn answer<F, Fut>(mut stream: TcpStream, peer: SocketAddr, route: F)
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    // How many bytes the whole request has, once its head has been read.
    let mut want = MAX_REQUEST_BYTES + 4;
    let response = loop {
        match parse_head(&buf) {
            Ok(Some(head)) => match body_length(&head) {
                Err(status) => break error(status, "", "request body refused"),
                Ok(len) if buf.len() >= head.body_at + len => {
                    let body = buf[head.body_at..head.body_at + len].to_vec();
                    break route(Request { head, body }).await;
                }
                Ok(len) => want = head.body_at + len,
            },
            Ok(None) => {}
            Err(ParseError::TooLarge) => break error(431, "", "request too large"),
            Err(ParseError::Malformed) => break error(400, "", "malformed request"),
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n.min(want.saturating_sub(buf.len()))]),
        }
    };
    if let Err(e) = stream.write_all(&encode(&response)).await {
        tracing::debug!("admin answer to {peer} failed: {e}");
    }
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_get_and_drops_the_query() {
        let head = parse_head(b"GET /commands/mntr?x=1 HTTP/1.1\r\nHost: a\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(head.method, "GET");
        assert_eq!(head.path, "/commands/mntr");
    }

    #[test]
    fn reads_headers_query_parameters_and_the_body_length() {
        let raw = b"POST /api/write?path=%2Fa%20b&x=1+2 HTTP/1.1\r\n\
                    Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
        let head = parse_head(raw).unwrap().unwrap();
        assert_eq!(head.header("content-type"), Some("application/json"));
        assert_eq!(body_length(&head), Ok(2));
        assert_eq!(&raw[head.body_at..], b"{}");
        let req = Request { head, body: vec![] };
        assert_eq!(req.param("path").as_deref(), Some("/a b"));
        assert_eq!(req.param("x").as_deref(), Some("1 2"));
        assert_eq!(req.param("y"), None);
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%ff"), None);
        let big = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY_BYTES + 1
        );
        assert_eq!(
            body_length(&parse_head(big.as_bytes()).unwrap().unwrap()),
            Err(413)
        );
        let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(
            body_length(&parse_head(chunked).unwrap().unwrap()),
            Err(411)
        );
        assert_eq!(
            parse_head(b"GET / HTTP/1.1\r\nno colon\r\n\r\n"),
            Err(ParseError::Malformed)
        );
    }

    #[test]
    fn an_unfinished_head_is_not_yet_an_error() {
        assert_eq!(parse_head(b"GET /health HTTP/1.1\r\nHost:"), Ok(None));
        assert_eq!(parse_head(b""), Ok(None));
    }

    #[test]
    fn an_endless_head_is_too_large() {
        let buf = vec![b'a'; MAX_REQUEST_BYTES];
        assert_eq!(parse_head(&buf), Err(ParseError::TooLarge));
        let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
        big.extend(vec![b'a'; MAX_REQUEST_BYTES]);
        big.extend_from_slice(b"\r\n\r\n");
        assert_eq!(parse_head(&big), Err(ParseError::TooLarge));
    }

    #[test]
    fn malformed_request_lines_are_refused() {
        for bad in [
            &b"GET\r\n\r\n"[..],
            b"GET /a b HTTP/1.1\r\n\r\n",
            b"GET a HTTP/1.1\r\n\r\n",
            b"GET / SPDY/3\r\n\r\n",
            b"\xff\xfe / HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(parse_head(bad), Err(ParseError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn encodes_with_length_and_close() {
        let r = Response {
            status: 404,
            content_type: JSON,
            body: "{}".into(),
        };
        assert_eq!(
            encode(&r),
            b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\
              Content-Length: 2\r\nConnection: close\r\n\r\n{}"
                .to_vec()
        );
    }
}
