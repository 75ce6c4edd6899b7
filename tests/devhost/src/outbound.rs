//! `allowed_outbound_hosts`: which URLs a component may request, as Spin
//! decides it. Entries are `scheme://host[:port]`, with `*` for any scheme,
//! any host (or `*.suffix`) or any port; a known scheme's port may be omitted.

use anyhow::{Result, bail};

/// One allowed origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    scheme: String,
    host: String,
    port: String,
}

fn default_port(scheme: &str) -> Option<&'static str> {
    match scheme {
        "http" => Some("80"),
        "https" => Some("443"),
        _ => None,
    }
}

impl AllowedHost {
    /// Parses an expanded entry.
    pub fn parse(entry: &str) -> Result<AllowedHost> {
        let Some((scheme, rest)) = entry.split_once("://") else {
            bail!("{entry:?}: expected scheme://host[:port]");
        };
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') {
            bail!("{entry:?}: paths are not allowed");
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || rest.starts_with('[') => (h, p.to_string()),
            _ => match default_port(scheme) {
                Some(p) => (rest, p.to_string()),
                None if scheme == "*" => (rest, "*".to_string()),
                None => bail!("{entry:?}: give a port for scheme {scheme}"),
            },
        };
        if host.is_empty() || scheme.is_empty() {
            bail!("{entry:?}: expected scheme://host[:port]");
        }
        Ok(AllowedHost {
            scheme: scheme.to_ascii_lowercase(),
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// Whether a request to `scheme://host:port` is allowed by this entry.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let scheme_ok = self.scheme == "*" || self.scheme == scheme;
        let host = host.to_ascii_lowercase();
        let host_ok = self.host == "*"
            || self.host == host
            || self
                .host
                .strip_prefix("*.")
                .is_some_and(|suffix| host.ends_with(&format!(".{suffix}")));
        let port_ok = self.port == "*" || self.port == port.to_string();
        scheme_ok && host_ok && port_ok
    }
}

/// Whether `url` is allowed by any of `allowed`.
pub fn is_allowed(allowed: &[AllowedHost], url: &http::Uri) -> bool {
    let scheme = url.scheme_str().unwrap_or("https");
    let Some(host) = url.host() else { return false };
    let port = url
        .port_u16()
        .or_else(|| default_port(scheme).and_then(|p| p.parse().ok()));
    let Some(port) = port else { return false };
    allowed.iter().any(|a| a.allows(scheme, host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(entries: &[&str], url: &str) -> bool {
        let list: Vec<_> = entries
            .iter()
            .map(|e| AllowedHost::parse(e).expect("entry"))
            .collect();
        is_allowed(&list, &url.parse().expect("url"))
    }

    #[test]
    fn matches_like_spin() {
        assert!(allowed(&["https://example.com"], "https://example.com/x"));
        assert!(!allowed(&["https://example.com"], "http://example.com/x"));
        assert!(!allowed(
            &["https://example.com"],
            "https://example.com:8443/x"
        ));
        assert!(allowed(&["http://127.0.0.1:*"], "http://127.0.0.1:5000/x"));
        assert!(allowed(
            &["https://*.example.com"],
            "https://api.example.com/"
        ));
        assert!(!allowed(
            &["https://*.example.com"],
            "https://example.com.evil/"
        ));
        assert!(allowed(&["*://*:*"], "http://anything:1/"));
        assert!(allowed(
            &["https://*:443"],
            "https://hooks.partner.example/in"
        ));
        assert!(!allowed(&[], "https://example.com/"));
    }
}
