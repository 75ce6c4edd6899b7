//! Spin's HTTP routing. Spin matches routes with the `routefinder` crate, so
//! this module does too, with Spin's conventions on top: a trailing `/...` is
//! routefinder's `/*`, a later duplicate of a route replaces the earlier one,
//! and the trailing part of the path keeps a trailing slash. The most specific
//! route wins, segment by segment: exact over `:name` over the wildcard, so an
//! exact route beats a parameterised one and a longer prefix beats a shorter.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow};

/// A route of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// As written in the manifest (`spin-matched-route`, `spin-raw-component-route`).
    pub pattern: String,
    /// The component it leads to.
    pub component: String,
}

impl Route {
    /// The route without its trailing wildcard (`spin-component-route`).
    pub fn base(&self) -> &str {
        self.pattern.strip_suffix("/...").unwrap_or(&self.pattern)
    }
}

/// A request matched to a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched<'a> {
    /// The route.
    pub route: &'a Route,
    /// Named segments (`:name`), each sent as `spin-path-match-<name>`.
    pub params: BTreeMap<String, String>,
    /// What the trailing wildcard matched, starting with `/`, or empty (`spin-path-info`).
    pub path_info: String,
}

/// All routes of an application.
#[derive(Debug)]
pub struct Router {
    finder: routefinder::Router<Route>,
}

/// Strips one trailing slash, as Spin does with routes.
fn sanitize(route: &str) -> &str {
    route.strip_suffix('/').unwrap_or(route)
}

impl Router {
    /// A router over `(pattern, component)` pairs in manifest order.
    pub fn new<'a>(routes: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Router> {
        let mut unique: Vec<Route> = Vec::new();
        for (pattern, component) in routes {
            let route = Route {
                pattern: pattern.to_string(),
                component: component.to_string(),
            };
            match unique.iter_mut().find(|r| r.pattern == pattern) {
                Some(earlier) => {
                    eprintln!(
                        "devhost: route {pattern} is given twice; component {component} replaces {}",
                        earlier.component
                    );
                    *earlier = route;
                }
                None => unique.push(route),
            }
        }
        let mut finder = routefinder::Router::new();
        for route in unique {
            let based = sanitize(&route.pattern);
            let spec = match based.strip_suffix("/...") {
                Some(prefix) => format!("{prefix}/*"),
                None if based.is_empty() => "/".to_string(),
                None => based.to_string(),
            };
            finder.add(spec.as_str(), route.clone()).map_err(|e| {
                anyhow!(
                    "route {:?} of component {}: {e}",
                    route.pattern,
                    route.component
                )
            })?;
        }
        Ok(Router { finder })
    }

    /// The most specific route for `path`.
    pub fn route(&self, path: &str) -> Option<Matched<'_>> {
        let found = self.finder.best_match(path)?;
        let captures = found.captures();
        let params = captures
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let path_info = match captures.wildcard() {
            None => String::new(),
            Some(rest) => match (rest.is_empty(), path.ends_with('/')) {
                (true, false) => String::new(),
                (true, true) => "/".to_string(),
                (false, false) => format!("/{rest}"),
                (false, true) => format!("/{rest}/"),
            },
        };
        Some(Matched {
            route: found.handler(),
            params,
            path_info,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> Router {
        Router::new([
            ("/...", "fallback"),
            ("/api/...", "api"),
            ("/api/invites/...", "invites-wild"),
            ("/api/invites/:id", "invite"),
            ("/api/invites/generate", "generate"),
            ("/api/invites/:id/resend", "resend"),
        ])
        .expect("routes")
    }

    #[test]
    fn the_most_specific_route_wins() {
        let r = router();
        let c = |p: &str| r.route(p).map(|m| m.route.component.clone());
        assert_eq!(c("/api/invites/generate").as_deref(), Some("generate"));
        assert_eq!(c("/api/invites/inv_1").as_deref(), Some("invite"));
        assert_eq!(c("/api/invites/inv_1/resend").as_deref(), Some("resend"));
        assert_eq!(
            c("/api/invites/inv_1/other").as_deref(),
            Some("invites-wild")
        );
        assert_eq!(c("/api/other").as_deref(), Some("api"));
        assert_eq!(c("/").as_deref(), Some("fallback"));
        assert_eq!(c("/api").as_deref(), Some("api"));
    }

    #[test]
    fn params_and_path_info() {
        let r = router();
        let m = r.route("/api/invites/inv_7/resend").expect("match");
        assert_eq!(m.params.get("id").map(String::as_str), Some("inv_7"));
        let m = r.route("/api/x/y").expect("match");
        assert_eq!(m.path_info, "/x/y");
        assert_eq!(m.route.base(), "/api");
        assert_eq!(r.route("/api/x/y/").expect("match").path_info, "/x/y/");
        assert_eq!(r.route("/api").expect("match").path_info, "");
    }

    #[test]
    fn no_route_without_a_match_and_duplicates_replace() {
        let r = Router::new([("/exact", "e")]).expect("routes");
        assert!(r.route("/exact/more").is_none());
        assert!(r.route("/other").is_none());
        let r = Router::new([("/a", "first"), ("/a", "second")]).expect("routes");
        assert_eq!(
            r.route("/a").map(|m| m.route.component.clone()).as_deref(),
            Some("second")
        );
    }
}
