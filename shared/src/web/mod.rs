//! HTTP as the components see it, independent of Spin so it can be tested
//! natively: a parsed request, an answer, content negotiation and the rules
//! every endpoint shares (body size, media types, bearer tokens).

pub mod api;
pub mod page;
pub mod routes;

use serde::Serialize;

use crate::messages::Language;
use crate::problem::{self, Problem, ProblemKind};
use page::About;

/// Largest request body accepted, in bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// Security headers on every HTML page.
pub const HTML_HEADERS: [(&str, &str); 5] = [
    (
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
];

/// A request, read whole.
#[derive(Debug, Clone, Default)]
pub struct Incoming {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, without query.
    pub path: String,
    /// The raw query string.
    pub query: Option<String>,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// What a body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/json`.
    Json,
    /// `application/x-www-form-urlencoded` (the pages' forms).
    Form,
}

impl Incoming {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The path split on `/`, without empty segments.
    pub fn segments(&self) -> Vec<&str> {
        self.path.split('/').filter(|s| !s.is_empty()).collect()
    }

    /// The first value of query parameter `name`, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// Whether the client prefers JSON to HTML (`Accept`).
    pub fn wants_json(&self) -> bool {
        let accept = self.header("accept").unwrap_or("");
        let json =
            accept.contains("application/json") || accept.contains("application/problem+json");
        json && !accept.contains("text/html")
    }

    /// The body's media type, lower case, without parameters (empty if none).
    pub fn media_type(&self) -> String {
        self.header("content-type")
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }

    /// The body's kind; 415 unless JSON or (where `forms` allows) a form.
    pub fn body_kind(&self, forms: bool) -> Result<BodyKind, Problem> {
        let media = self.media_type();
        match media.as_str() {
            "application/json" => Ok(BodyKind::Json),
            "application/x-www-form-urlencoded" if forms => Ok(BodyKind::Form),
            "" if self.body.is_empty() => Ok(BodyKind::Json),
            other => Err(Problem::new(
                ProblemKind::UnsupportedMediaType,
                format!(
                    "send the body as application/json{}; got {}",
                    if forms {
                        " or application/x-www-form-urlencoded"
                    } else {
                        ""
                    },
                    if other.is_empty() {
                        "no Content-Type"
                    } else {
                        other
                    }
                ),
            )),
        }
    }

    /// The body as JSON bytes: 415 for other media types. An empty body counts as `{}`.
    pub fn json_body(&self) -> Result<&[u8], Problem> {
        self.body_kind(false)?;
        Ok(if self.body.is_empty() {
            b"{}"
        } else {
            &self.body
        })
    }

    /// The form fields of a form body.
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    /// The client's address, from the `spin-client-addr` header Spin sets
    /// (`ip:port`, or `[ip]:port` for IPv6), without the port.
    pub fn client_address(&self) -> Option<&str> {
        let addr = self.header("spin-client-addr")?;
        Some(match addr.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(v6),
            None => addr.rsplit_once(':').map_or(addr, |(ip, _)| ip),
        })
    }

    /// The `Authorization` header.
    pub fn authorization(&self) -> Option<&str> {
        self.header("authorization")
    }
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
}

impl Outgoing {
    /// A JSON answer.
    pub fn json<T: Serialize>(status: u16, value: &T) -> Outgoing {
        match serde_json::to_string(value) {
            Ok(body) => Outgoing {
                status,
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("cache-control".into(), "no-store".into()),
                ],
                body,
            },
            Err(e) => Outgoing::problem(&Problem::new(
                ProblemKind::Internal,
                format!("cannot render the answer: {e}"),
            )),
        }
    }

    /// An RFC 9457 problem answer.
    pub fn problem(problem: &Problem) -> Outgoing {
        let mut headers = vec![
            (
                "content-type".to_string(),
                problem::CONTENT_TYPE.to_string(),
            ),
            ("cache-control".to_string(), "no-store".to_string()),
        ];
        if let Some(allow) = &problem.allow {
            headers.push(("allow".into(), allow.clone()));
        }
        headers.extend(problem.headers.iter().cloned());
        Outgoing {
            status: problem.status(),
            headers,
            body: String::from_utf8_lossy(&problem.to_json()).into_owned(),
        }
    }

    /// An HTML page with the security headers.
    pub fn html(status: u16, body: String) -> Outgoing {
        let mut headers: Vec<(String, String)> =
            vec![("content-type".into(), "text/html; charset=utf-8".into())];
        headers.extend(
            HTML_HEADERS
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        Outgoing {
            status,
            headers,
            body,
        }
    }

    /// A problem as a page, for browsers, in `language`, about a link to `about`.
    pub fn problem_page(problem: &Problem, language: Language, about: About) -> Outgoing {
        let mut page = Outgoing::html(problem.status(), page::problem(language, about, problem));
        page.headers.extend(problem.headers.iter().cloned());
        page
    }

    /// The value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Renders a result as JSON, or its problem.
pub fn respond<T: Serialize>(status: u16, result: Result<T, Problem>) -> Outgoing {
    match result {
        Ok(value) => Outgoing::json(status, &value),
        Err(problem) => Outgoing::problem(&problem),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)], body: &str) -> Incoming {
        Incoming {
            method: "POST".into(),
            path: "/api/x".into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
            ..Incoming::default()
        }
    }

    #[test]
    fn media_types_are_checked() {
        assert!(
            request(&[("content-type", "application/json; charset=utf-8")], "{}")
                .json_body()
                .is_ok()
        );
        assert_eq!(request(&[], "").json_body().ok(), Some(&b"{}"[..]));
        let p = request(&[("content-type", "text/plain")], "x")
            .json_body()
            .expect_err("415");
        assert_eq!(p.status(), 415);
        let form = request(
            &[("content-type", "application/x-www-form-urlencoded")],
            "a=1",
        );
        assert_eq!(form.body_kind(true).ok(), Some(BodyKind::Form));
        assert!(form.body_kind(false).is_err());
    }

    #[test]
    fn browsers_get_html_clients_get_json() {
        let browser = request(
            &[("accept", "text/html,application/xhtml+xml,*/*;q=0.8")],
            "",
        );
        assert!(!browser.wants_json());
        assert!(request(&[("accept", "application/json")], "").wants_json());
        assert!(!request(&[], "").wants_json());
    }

    #[test]
    fn problems_render_with_their_media_type() {
        let out = Outgoing::problem(&Problem::method_not_allowed("GET"));
        assert_eq!(out.status, 405);
        assert_eq!(out.header("content-type"), Some("application/problem+json"));
        assert_eq!(out.header("allow"), Some("GET"));
    }
}
