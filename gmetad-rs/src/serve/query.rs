//! The interactive port's request grammar (gmetad/server.c process_request; reference §3.2).
//! Pure: one request line in, a [`Request`] or a [`QueryError`] out.

/// Longest request line accepted, in bytes.
pub const MAX_LINE: usize = 2048;

/// A parsed interactive-port request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A path into the grid tree.
    Tree {
        /// Path components (cluster or grid name, host name, metric name).
        path: Vec<String>,
        /// `?filter=summary`.
        summary: bool,
        /// The request came as `GET /path HTTP/1.x`.
        http: bool,
    },
    /// `/status`: the JSON status document.
    Status {
        /// `?callback=NAME` for JSONP (only identifier characters are accepted).
        callback: Option<String>,
        /// The request came as `GET /status HTTP/1.x`.
        http: bool,
    },
}

/// Why a request is refused (the connection is closed without a reply, as gmetad does).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// Longer than [`MAX_LINE`].
    #[error("request line longer than {MAX_LINE} bytes")]
    TooLong,
    /// Does not start with '/'.
    #[error("request path does not start with '/'")]
    NotAPath,
    /// Contains a character gmetad refuses.
    #[error("request contains the forbidden character {0:?}")]
    Forbidden(char),
    /// A '?' whose query has no '='.
    #[error("malformed query string")]
    BadQuery,
    /// Not valid UTF-8.
    #[error("request is not valid UTF-8")]
    NotUtf8,
}

const FORBIDDEN: &[char] = &[
    '>', '!', '@', '#', '$', '%', '`', ';', '|', '"', '\\', '\'', '<',
];

/// Parse the first line of a request (bytes up to the first `\n` or `\r`).
pub fn parse(raw: &[u8]) -> Result<Request, QueryError> {
    let end = raw
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .unwrap_or(raw.len());
    if end > MAX_LINE {
        return Err(QueryError::TooLong);
    }
    let line = std::str::from_utf8(&raw[..end]).map_err(|_| QueryError::NotUtf8)?;
    let (target, http) = match line.strip_prefix("GET ") {
        Some(rest) => match rest
            .strip_suffix(" HTTP/1.0")
            .or_else(|| rest.strip_suffix(" HTTP/1.1"))
        {
            Some(t) => (t, true),
            None => (line, false),
        },
        None => (line, false),
    };
    if !target.starts_with('/') {
        return Err(QueryError::NotAPath);
    }
    if let Some(c) = target.chars().find(|c| FORBIDDEN.contains(c)) {
        return Err(QueryError::Forbidden(c));
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => {
            if !q.contains('=') {
                return Err(QueryError::BadQuery);
            }
            (p, Some(q))
        }
        None => (target, None),
    };
    if path.len() >= 7 && path[..7].eq_ignore_ascii_case("/status") {
        let callback = query
            .and_then(|q| q.strip_prefix("callback="))
            .filter(|c| {
                !c.is_empty()
                    && c.chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || "_.$".contains(ch))
            })
            .map(str::to_owned);
        return Ok(Request::Status { callback, http });
    }
    let summary = query == Some("filter=summary");
    let path = path
        .split('/')
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(Request::Tree {
        path,
        summary,
        http,
    })
}

/// The exact HTTP/1.0 header gmetad 3.7.2 writes before an XML answer (note the lone `\n`
/// after the CORS header).
pub fn http_xml_header(version: &str) -> String {
    format!(
        "HTTP/1.0 200 OK\r\nServer: gmetad/{version}\r\nAccess-Control-Allow-Origin: *\nContent-Type: application/xml\r\nConnection: close\r\n\r\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(path: &[&str], summary: bool, http: bool) -> Request {
        Request::Tree {
            path: path.iter().map(|s| s.to_string()).collect(),
            summary,
            http,
        }
    }

    #[test]
    fn the_queries_ganglia_web_sends() {
        assert_eq!(parse(b"/?filter=summary\n"), Ok(tree(&[], true, false)));
        assert_eq!(parse(b"/\n"), Ok(tree(&[], false, false)));
        assert_eq!(parse(b"/lab\n"), Ok(tree(&["lab"], false, false)));
        assert_eq!(
            parse(b"/lab?filter=summary\r\n"),
            Ok(tree(&["lab"], true, false))
        );
        assert_eq!(
            parse(b"/lab/localhost\n"),
            Ok(tree(&["lab", "localhost"], false, false))
        );
        assert_eq!(
            parse(b"GET /lab/localhost/load_one HTTP/1.0\r\nHost: x\r\n\r\n"),
            Ok(tree(&["lab", "localhost", "load_one"], false, true))
        );
        assert_eq!(
            parse(b"/my cluster/host 1\n"),
            Ok(tree(&["my cluster", "host 1"], false, false))
        );
    }

    #[test]
    fn status_and_jsonp() {
        assert_eq!(
            parse(b"/status\n"),
            Ok(Request::Status {
                callback: None,
                http: false
            })
        );
        assert_eq!(
            parse(b"GET /STATUS?callback=cb_1 HTTP/1.1\r\n"),
            Ok(Request::Status {
                callback: Some("cb_1".into()),
                http: true
            })
        );
        assert_eq!(
            parse(b"/status?callback=x</script>\n"),
            Err(QueryError::Forbidden('<'))
        );
        assert_eq!(
            parse(b"/status?callback=a(b)\n"),
            Ok(Request::Status {
                callback: None,
                http: false
            })
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(parse(b"lab\n"), Err(QueryError::NotAPath));
        assert_eq!(parse(b"/lab;rm\n"), Err(QueryError::Forbidden(';')));
        assert_eq!(parse(b"/lab?summary\n"), Err(QueryError::BadQuery));
        assert_eq!(parse(&[b'/'; 3000]), Err(QueryError::TooLong));
        assert_eq!(parse(b"/\xff\n"), Err(QueryError::NotUtf8));
        assert_eq!(
            parse(b"/lab?filter=other\n"),
            Ok(tree(&["lab"], false, false)),
            "unknown filter = none"
        );
        assert_eq!(
            parse(b"GET /lab HTTP/2\n"),
            Err(QueryError::NotAPath),
            "only HTTP/1.x is HTTP"
        );
    }

    #[test]
    fn http_header_is_byte_exact() {
        let fixture =
            include_str!("../../../ganglia-proto/tests/data/xml/gmetad-8652-http-metric.txt");
        assert!(
            fixture.starts_with(&http_xml_header("3.7.2-1")),
            "{:?}",
            &fixture[..200]
        );
    }
}
