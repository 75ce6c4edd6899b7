//! Every component's routes, one table each. A table is what the component
//! serves: it decides 404 and 405 (with `Allow`) before anything needs
//! configuration, and names the endpoint of every route and method. The
//! end-to-end tests hold each table to `spin.toml` and to the OpenAPI
//! document, so a route is written here, there and in the document, and
//! nowhere else.

/// What answers a route and method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /api/invites/generate`.
    CreateInvite,
    /// `POST /api/invites/:id/resend`.
    ResendInvite,
    /// `POST /api/invites/:id/revoke`.
    RevokeInvite,
    /// `GET /invite/:token`.
    RegistrationPage,
    /// `POST /api/invites/redeem`.
    Redeem,
    /// `GET /api/invites`.
    ListInvites,
    /// `GET /api/invites/:id`.
    GetInvite,
    /// `GET /api/customers`.
    ListCustomers,
    /// `GET /api/partners`.
    ListPartners,
    /// `GET /api/capabilities` (public, needs no configuration).
    Capabilities,
    /// `GET /api/openapi.json` (public, needs no configuration).
    OpenApi,
    /// `POST /api/connections`.
    RequestConnection,
    /// `GET /api/connections`.
    ListRequests,
    /// `POST /api/connections/:id/withdraw`.
    WithdrawRequest,
    /// `POST /api/connections/:id/approve`.
    ApproveRequest,
    /// `POST /api/connections/:id/decline`.
    DeclineRequest,
    /// `GET /connect/:token`.
    ApprovalPage,
    /// `GET /api/partner`.
    GetProfile,
    /// `PUT /api/partner`.
    PutProfile,
    /// `GET /api/webhooks/deliveries`.
    ListDeliveries,
    /// `POST /api/webhooks/deliveries/:id/retry`.
    RetryDelivery,
    /// `GET /api/outbox`.
    ListOutbox,
    /// `PUT /api/organizations/:id`.
    PutOrganization,
    /// `GET /api/organizations/:id`.
    GetOrganization,
    /// `POST /api/organizations/import`.
    ImportOrganizations,
    /// `GET /api/platform/deliveries`.
    ListPlatformDeliveries,
    /// `POST /api/platform/deliveries/:id/retry`.
    RetryPlatformDelivery,
    /// `GET /api/organization/requests`.
    ListOrganizationRequests,
    /// `POST /api/webhooks/enable`.
    EnableWebhook,
    /// `POST /api/outbox/dispatch`.
    Dispatch,
    /// `GET /api/relationships/:id`.
    GetRelationship,
    /// `POST /api/relationships/:id/end`.
    EndRelationship,
    /// `POST /api/relationships/:id/change`.
    ChangeRelationship,
}

impl Endpoint {
    /// Whether it changes what is stored when it succeeds: such requests
    /// also make a due redelivery attempt after answering
    /// ([`crate::ops::Dispatcher::piggyback`]); reads and pages never do.
    pub fn writes(self) -> bool {
        use Endpoint::*;
        matches!(
            self,
            CreateInvite
                | ResendInvite
                | RevokeInvite
                | Redeem
                | RequestConnection
                | WithdrawRequest
                | ApproveRequest
                | DeclineRequest
                | PutProfile
                | RetryDelivery
                | PutOrganization
                | ImportOrganizations
                | RetryPlatformDelivery
                | EnableWebhook
                | EndRelationship
                | ChangeRelationship
        )
    }

    /// The largest body it takes, in bytes.
    pub fn max_body(self) -> usize {
        match self {
            Endpoint::ImportOrganizations => MAX_IMPORT_BODY,
            _ => super::MAX_BODY,
        }
    }
}

/// One route: its `spin.toml` pattern and the endpoint of each method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// As in `spin.toml`: `:name` takes one segment, a final `/...` the rest.
    pub path: &'static str,
    /// Method and endpoint; empty for a catch-all that answers 404.
    pub methods: &'static [(&'static str, Endpoint)],
}

/// The named segments of a matched path (`("id", "inv_1_...")`).
pub type Params = Vec<(&'static str, String)>;

/// What a request matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matched {
    /// An endpoint, with the named segments of the path.
    Endpoint(Endpoint, Params),
    /// The path exists; these methods are allowed (the `Allow` value).
    MethodNotAllowed(String),
    /// No endpoint at this path.
    NotFound,
}

/// Largest body of an import of organizations: a thousand of them.
pub const MAX_IMPORT_BODY: usize = 1024 * 1024;

/// `generate-invite`.
pub const GENERATE_INVITE: &[Route] = &[
    // Issue an invite for a new customer: 201 with the link.
    route("/api/invites/generate", &[("POST", Endpoint::CreateInvite)]),
    // A fresh link and expiry; every earlier link stops working.
    route(
        "/api/invites/:id/resend",
        &[("POST", Endpoint::ResendInvite)],
    ),
    // Revoke a pending invite.
    route(
        "/api/invites/:id/revoke",
        &[("POST", Endpoint::RevokeInvite)],
    ),
];

/// `redeem-invite`.
pub const REDEEM_INVITE: &[Route] = &[
    // The registration page (HTML), or its JSON with `Accept: application/json`.
    route("/invite/:token", &[("GET", Endpoint::RegistrationPage)]),
    // Register a new organization or link an existing one: exactly once per invite.
    route("/api/invites/redeem", &[("POST", Endpoint::Redeem)]),
];

/// `list-invites`, which also answers every path no other component serves.
pub const LIST_INVITES: &[Route] = &[
    // The partner's invites, newest first, by status and cursor.
    route("/api/invites", &[("GET", Endpoint::ListInvites)]),
    // One invite with its history.
    route("/api/invites/:id", &[("GET", Endpoint::GetInvite)]),
    // The partner's customers: connection, capabilities, first contact, since, via.
    route("/api/customers", &[("GET", Endpoint::ListCustomers)]),
    // The partners of the admin's organization.
    route("/api/partners", &[("GET", Endpoint::ListPartners)]),
    // The capability matrix, public.
    route("/api/capabilities", &[("GET", Endpoint::Capabilities)]),
    // The API description, public.
    route("/api/openapi.json", &[("GET", Endpoint::OpenApi)]),
    // Any other API path: a problem+json 404 (Spin's own 404 has no body).
    route("/api/...", &[]),
    // Any other path at all.
    route("/...", &[]),
];

/// `connect-existing-organization`.
pub const CONNECT_EXISTING_ORGANIZATION: &[Route] = &[
    // Ask to be connected (201 pending request); the partner's requests.
    route(
        "/api/connections",
        &[
            ("GET", Endpoint::ListRequests),
            ("POST", Endpoint::RequestConnection),
        ],
    ),
    // The partner takes its request back.
    route(
        "/api/connections/:id/withdraw",
        &[("POST", Endpoint::WithdrawRequest)],
    ),
    // The admin approves (bearer or approval-link token).
    route(
        "/api/connections/:id/approve",
        &[("POST", Endpoint::ApproveRequest)],
    ),
    // The admin declines.
    route(
        "/api/connections/:id/decline",
        &[("POST", Endpoint::DeclineRequest)],
    ),
    // The approval page (HTML), or its JSON.
    route("/connect/:token", &[("GET", Endpoint::ApprovalPage)]),
    // The requests to the admin's organization, pending first.
    route(
        "/api/organization/requests",
        &[("GET", Endpoint::ListOrganizationRequests)],
    ),
    // An organization as the platform knows it (operators): create or replace, read.
    route(
        "/api/organizations/:id",
        &[
            ("GET", Endpoint::GetOrganization),
            ("PUT", Endpoint::PutOrganization),
        ],
    ),
    // Many organizations at once (operators): JSON array or NDJSON.
    route(
        "/api/organizations/import",
        &[("POST", Endpoint::ImportOrganizations)],
    ),
    // A relationship as it stands, with its history (either side, operators).
    route(
        "/api/relationships/:id",
        &[("GET", Endpoint::GetRelationship)],
    ),
    // End it, at once (either side, operators).
    route(
        "/api/relationships/:id/end",
        &[("POST", Endpoint::EndRelationship)],
    ),
    // Another connection (the partner): at once, or on the admin's approval.
    route(
        "/api/relationships/:id/change",
        &[("POST", Endpoint::ChangeRelationship)],
    ),
];

/// `partner-settings`.
pub const PARTNER_SETTINGS: &[Route] = &[
    // Display name, billing accounts, webhook endpoint; replace them.
    route(
        "/api/partner",
        &[("GET", Endpoint::GetProfile), ("PUT", Endpoint::PutProfile)],
    ),
    // Every webhook delivery and its attempts.
    route(
        "/api/webhooks/deliveries",
        &[("GET", Endpoint::ListDeliveries)],
    ),
    // Send a delivery again.
    route(
        "/api/webhooks/deliveries/:id/retry",
        &[("POST", Endpoint::RetryDelivery)],
    ),
    // Send to the endpoint again after it answered 410 Gone.
    route("/api/webhooks/enable", &[("POST", Endpoint::EnableWebhook)]),
    // Emails recorded or sent (operators).
    route("/api/outbox", &[("GET", Endpoint::ListOutbox)]),
    // Make the attempts that are due, in a bounded batch (operators; for a scheduler).
    route("/api/outbox/dispatch", &[("POST", Endpoint::Dispatch)]),
    // Every event delivery to the platform's endpoint (operators).
    route(
        "/api/platform/deliveries",
        &[("GET", Endpoint::ListPlatformDeliveries)],
    ),
    // Send a platform delivery again (operators).
    route(
        "/api/platform/deliveries/:id/retry",
        &[("POST", Endpoint::RetryPlatformDelivery)],
    ),
];

/// Every component's table, by the component's name in `spin.toml`.
pub const TABLES: &[(&str, &[Route])] = &[
    ("generate-invite", GENERATE_INVITE),
    ("redeem-invite", REDEEM_INVITE),
    ("list-invites", LIST_INVITES),
    (
        "connect-existing-organization",
        CONNECT_EXISTING_ORGANIZATION,
    ),
    ("partner-settings", PARTNER_SETTINGS),
];

const fn route(path: &'static str, methods: &'static [(&'static str, Endpoint)]) -> Route {
    Route { path, methods }
}

impl Route {
    /// The named segments of `path` if this route matches it.
    fn captures(&self, path: &str) -> Option<Params> {
        let mut given = path.split('/').filter(|s| !s.is_empty());
        let mut captured = Vec::new();
        for part in self.path.split('/').filter(|s| !s.is_empty()) {
            if part == "..." {
                return Some(captured);
            }
            let segment = given.next()?;
            match part.strip_prefix(':') {
                Some(name) => captured.push((name, segment.to_string())),
                None if part == segment => {}
                None => return None,
            }
        }
        given.next().is_none().then_some(captured)
    }
}

impl Route {
    /// How specific the route is, segment by segment (a literal over a
    /// `:name` over the wildcard), as Spin ranks routes.
    fn specificity(&self) -> Vec<u8> {
        self.path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| match s {
                "..." => 0,
                s if s.starts_with(':') => 1,
                _ => 2,
            })
            .collect()
    }
}

/// Finds what `method` on `path` leads to in `table`: the most specific
/// route that matches, as in Spin, whatever the table's order.
pub fn find(table: &[Route], method: &str, path: &str) -> Matched {
    let Some((route, params)) = table
        .iter()
        .filter_map(|r| r.captures(path).map(|p| (r, p)))
        .max_by_key(|(r, _)| r.specificity())
    else {
        return Matched::NotFound;
    };
    if route.methods.is_empty() {
        return Matched::NotFound;
    }
    match route.methods.iter().find(|(m, _)| *m == method) {
        Some((_, endpoint)) => Matched::Endpoint(*endpoint, params),
        None => Matched::MethodNotAllowed(
            route
                .methods
                .iter()
                .map(|(m, _)| *m)
                .collect::<Vec<_>>()
                .join(", "),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_lead_to_endpoints_with_their_segments() {
        assert_eq!(
            find(GENERATE_INVITE, "POST", "/api/invites/inv_1_x/resend"),
            Matched::Endpoint(Endpoint::ResendInvite, vec![("id", "inv_1_x".into())])
        );
        assert_eq!(
            find(CONNECT_EXISTING_ORGANIZATION, "DELETE", "/api/connections"),
            Matched::MethodNotAllowed("GET, POST".into())
        );
        assert_eq!(
            find(LIST_INVITES, "GET", "/api/invites/a/b"),
            Matched::NotFound,
            "caught by /api/..., which serves nothing"
        );
        assert_eq!(find(LIST_INVITES, "GET", "/"), Matched::NotFound);
        assert_eq!(
            find(LIST_INVITES, "GET", "/api/invites/"),
            Matched::Endpoint(Endpoint::ListInvites, vec![]),
            "a trailing slash is the same path, as in Spin"
        );
        assert_eq!(
            find(REDEEM_INVITE, "GET", "/invite"),
            Matched::NotFound,
            "a named segment needs a segment"
        );
        assert_eq!(
            find(
                CONNECT_EXISTING_ORGANIZATION,
                "POST",
                "/api/organizations/import"
            ),
            Matched::Endpoint(Endpoint::ImportOrganizations, vec![]),
            "a literal beats a named segment"
        );
        assert_eq!(
            find(LIST_INVITES, "GET", "/api/capabilities"),
            Matched::Endpoint(Endpoint::Capabilities, vec![]),
            "an exact route beats the catch-alls"
        );
    }

    #[test]
    fn every_endpoint_has_one_route_and_method() {
        let mut seen = Vec::new();
        for (_, table) in TABLES {
            for route in *table {
                for (_, endpoint) in route.methods {
                    assert!(!seen.contains(endpoint), "{endpoint:?} twice");
                    seen.push(*endpoint);
                }
            }
        }
        assert_eq!(seen.len(), 33);
    }
}
