//! The OpenAPI document against the app it describes: every route in
//! `spin.toml` is documented and nothing else is; the methods it lists are
//! exactly the ones the components answer; and every operation, driven with
//! the document's own example requests, answers with a status the document
//! lists and a body its schema accepts (JSON Schema 2020-12, formats checked,
//! no undocumented fields).

use std::collections::{BTreeMap, BTreeSet};

use devhost::manifest::Manifest;
use devhost::testing::workspace_root;
use e2e::{Harness, Reply};
use serde_json::{Value, json};

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// The document, as the app serves it.
fn document(h: &Harness) -> Value {
    let reply = h.get("/api/openapi.json", None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let doc = reply.json();
    assert_eq!(doc["openapi"], "3.1.0");
    doc
}

/// A route in OpenAPI's spelling (`:id` becomes `{id}`).
fn openapi_path(route: &str) -> String {
    route
        .split('/')
        .map(|s| match s.strip_prefix(':') {
            Some(name) => format!("{{{name}}}"),
            None => s.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// `spin.toml`'s routes in OpenAPI's spelling, without the catch-alls
/// (`/...`), which serve no operation, only the 404 of unknown paths.
fn manifest_routes() -> BTreeSet<String> {
    let manifest = Manifest::load(&workspace_root().join("spin.toml")).expect("spin.toml");
    manifest
        .triggers
        .iter()
        .filter(|t| !t.route.ends_with("/..."))
        .map(|t| openapi_path(&t.route))
        .collect()
}

#[test]
fn each_component_serves_its_route_table_and_the_document_lists_its_methods() {
    let manifest = Manifest::load(&workspace_root().join("spin.toml")).expect("spin.toml");
    let doc: Value = serde_json::from_str(partner_invites::web::api::OPENAPI).expect("document");
    let tables = partner_invites::web::routes::TABLES;
    let components: BTreeSet<&str> = manifest
        .triggers
        .iter()
        .map(|t| t.component.as_str())
        .collect();
    let tabled: BTreeSet<&str> = tables.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        components, tabled,
        "a table for each component of spin.toml"
    );
    for (component, table) in tables {
        let in_manifest: BTreeSet<&str> = manifest
            .triggers
            .iter()
            .filter(|t| t.component == *component)
            .map(|t| t.route.as_str())
            .collect();
        let in_table: BTreeSet<&str> = table.iter().map(|r| r.path).collect();
        assert_eq!(
            in_manifest, in_table,
            "{component}: spin.toml routes vs its table"
        );
        for route in *table {
            let documented: BTreeSet<String> = METHODS
                .iter()
                .filter(|m| doc["paths"][openapi_path(route.path)].get(**m).is_some())
                .map(|m| m.to_uppercase())
                .collect();
            let served: BTreeSet<String> =
                route.methods.iter().map(|(m, _)| m.to_string()).collect();
            assert_eq!(
                served, documented,
                "{component} {}: methods vs the document",
                route.path
            );
        }
    }
}

#[test]
fn documents_every_route_in_spin_toml_and_no_other() {
    let h = Harness::start();
    let doc = document(&h);
    let documented: BTreeSet<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .cloned()
        .collect();
    let routes = manifest_routes();
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routes).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the document: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented paths no route serves: {unrouted:?}"
    );
}

#[test]
fn documented_methods_are_exactly_the_served_ones() {
    let h = Harness::start();
    let doc = document(&h);
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let documented: BTreeSet<String> = METHODS
            .iter()
            .filter(|m| item.get(**m).is_some())
            .map(|m| m.to_uppercase())
            .collect();
        // Any value routes: a method the path does not serve is refused before lookups.
        let concrete = path.replace("{id}", "x").replace("{token}", "x");
        let reply = h.request("DELETE", &concrete, &[], b"");
        reply.problem(405);
        let allowed: BTreeSet<String> = reply
            .header("allow")
            .expect("Allow on a 405")
            .split(',')
            .map(|m| m.trim().to_string())
            .collect();
        assert_eq!(allowed, documented, "{path}: Allow vs the document");
    }
}

/// Checks answers against the document and remembers which operations were seen.
struct Checker {
    doc: Value,
    /// operationId → (path, method).
    operations: BTreeMap<String, (String, String)>,
    seen: BTreeSet<String>,
}

impl Checker {
    fn new(doc: Value) -> Checker {
        let mut operations = BTreeMap::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in METHODS {
                if let Some(op) = item.get(method) {
                    let id = op["operationId"].as_str().expect("operationId");
                    let previous = operations.insert(id.to_string(), (path.clone(), method.into()));
                    assert!(previous.is_none(), "operationId {id} is used twice");
                }
            }
        }
        Checker {
            doc,
            operations,
            seen: BTreeSet::new(),
        }
    }

    fn operation(&self, id: &str) -> &Value {
        let (path, method) = self.operations.get(id).expect("a documented operation");
        &self.doc["paths"][path][method]
    }

    /// The JSON example of the operation's request body.
    fn example(&self, id: &str) -> Value {
        let example = &self.operation(id)["requestBody"]["content"]["application/json"]["example"];
        let example = if let Some(r) = self.operation(id)["requestBody"]["$ref"].as_str() {
            let name = r.rsplit('/').next().expect("ref name");
            &self.doc["components"]["requestBodies"][name]["content"]["application/json"]["example"]
        } else {
            example
        };
        assert!(!example.is_null(), "{id} has no request example");
        example.clone()
    }

    /// Resolves a local `$ref` to the object it names.
    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value["$ref"].as_str() {
            Some(r) => r
                .trim_start_matches("#/")
                .split('/')
                .fold(&self.doc, |node, key| &node[key]),
            None => value,
        }
    }

    /// Asserts `reply` is a documented answer of `id`, its body valid against
    /// the documented schema for its media type; returns the body as JSON.
    #[track_caller]
    fn check(&mut self, id: &str, reply: &Reply, expected: u16) -> Value {
        assert_eq!(reply.status, expected, "{id}: {}", reply.body);
        self.seen.insert(id.to_string());
        let op = self.operation(id);
        let response = self.resolve(&op["responses"][reply.status.to_string()]);
        assert!(
            response.is_object(),
            "{id} answered {}, which the document does not list",
            reply.status
        );
        let media = reply
            .header("content-type")
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .to_string();
        let content = &response["content"][&media];
        assert!(
            content.is_object(),
            "{id} answered {} as {media}, which the document does not list",
            reply.status
        );
        if !media.ends_with("json") {
            return Value::Null;
        }
        let body = reply.json();
        let mut schema = content["schema"].clone();
        schema["components"] = self.doc["components"].clone();
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("the schema compiles");
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{id} {}: the body does not match the document:\n  {}\nbody: {body}",
            reply.status,
            errors.join("\n  ")
        );
        body
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The token of the newest emailed link under `prefix` (`/connect/`), from the outbox.
fn emailed_token(outbox: &Value, prefix: &str) -> String {
    outbox["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|m| m["text"].as_str())
        .flat_map(str::lines)
        .find_map(|line| line.split_once(prefix).map(|(_, t)| t.trim().to_string()))
        .expect("an emailed link")
}

#[test]
fn example_requests_succeed_and_every_answer_matches_the_document() {
    let h = Harness::start_with(e2e::Options {
        extra_variables: vec![
            ("platform_webhook_url".into(), "{sink}/platform".into()),
            (
                "platform_webhook_secret".into(),
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
            ),
        ],
        ..e2e::Options::default()
    });
    let mut c = Checker::new(document(&h));
    let doc_reply = h.get("/api/openapi.json", None);
    c.check("getOpenApi", &doc_reply, 200);
    c.check("getCapabilities", &h.get("/api/capabilities", None), 200);

    // The partner's profile, from the example, then with a webhook endpoint.
    let p1 = h.partner("p1");
    let profile = c.example("putPartnerProfile");
    let put = h.send_json("PUT", "/api/partner", Some(&p1), &profile);
    c.check("putPartnerProfile", &put, 200);
    let mut webhook = profile.clone();
    webhook["webhook_url"] = json!(format!("{}/hooks/p1", h.sink.url()));
    let put = h.send_json("PUT", "/api/partner", Some(&p1), &webhook);
    let secret = c.check("putPartnerProfile", &put, 200)["webhook_secret"].clone();
    assert!(secret.is_string(), "a new endpoint gets a secret");
    let got = c.check("getPartnerProfile", &h.get("/api/partner", Some(&p1)), 200);
    assert_eq!(got["display_name"], profile["display_name"]);

    // An invite from the example, with the example Idempotency-Key.
    let create = c.example("createInvite");
    let key = c.operation("createInvite")["parameters"][0]["example"]
        .as_str()
        .expect("key example")
        .to_string();
    let auth = bearer(&p1);
    let headers = [
        ("content-type", "application/json"),
        ("authorization", auth.as_str()),
        ("idempotency-key", key.as_str()),
    ];
    let reply = h.request(
        "POST",
        "/api/invites/generate",
        &headers,
        create.to_string().as_bytes(),
    );
    let invite = c.check("createInvite", &reply, 201);
    let id = invite["id"].as_str().expect("id").to_string();
    let first_token = invite["token"].as_str().expect("token").to_string();

    let list = h.get("/api/invites?status=pending&limit=20", Some(&p1));
    assert_eq!(c.check("listInvites", &list, 200)["items"][0]["id"], id);
    c.check(
        "getInvite",
        &h.get(&format!("/api/invites/{id}"), Some(&p1)),
        200,
    );
    let resent = h.post(&format!("/api/invites/{id}/resend"), Some(&p1), &json!({}));
    let token = c.check("resendInvite", &resent, 200)["token"]
        .as_str()
        .expect("token")
        .to_string();
    c.check(
        "openInvite",
        &h.get(&format!("/invite/{first_token}"), None),
        410,
    );
    c.check("openInvite", &h.get(&format!("/invite/{token}"), None), 200);
    let page = h.request("GET", &format!("/invite/{token}"), &[], b"");
    c.check("openInvite", &page, 200);

    // Registration with the example body, the example's token swapped for the real one.
    let mut redeem = c.example("redeemInvite");
    redeem["token"] = json!(token);
    let done = c.check(
        "redeemInvite",
        &h.post("/api/invites/redeem", None, &redeem),
        201,
    );
    let org = done["organization_id"].as_str().expect("org").to_string();
    c.check(
        "redeemInvite",
        &h.post("/api/invites/redeem", None, &redeem),
        409,
    );
    c.check("listCustomers", &h.get("/api/customers", Some(&p1)), 200);
    let admin = h.admin(&org);
    c.check("listPartners", &h.get("/api/partners", Some(&admin)), 200);

    // A second invite, revoked.
    let second = c.check(
        "createInvite",
        &h.post(
            "/api/invites/generate",
            Some(&p1),
            &e2e::invite_body("b@globex.example"),
        ),
        201,
    );
    let second = second["id"].as_str().expect("id").to_string();
    let revoked = h.post(
        &format!("/api/invites/{second}/revoke"),
        Some(&p1),
        &json!({}),
    );
    c.check("revokeInvite", &revoked, 200);
    c.check(
        "revokeInvite",
        &h.post(
            &format!("/api/invites/{second}/revoke"),
            Some(&p1),
            &json!({}),
        ),
        409,
    );

    // Connection requests from three other partners: approved by link, declined by bearer, withdrawn.
    let mut request = c.example("requestConnection");
    request["organization_id"] = json!(org);
    let mut ids = Vec::new();
    for partner in ["p2", "p3", "p4"] {
        h.setup_partner(partner, false);
        let reply = h.post("/api/connections", Some(&h.partner(partner)), &request);
        ids.push(
            c.check("requestConnection", &reply, 201)["id"]
                .as_str()
                .expect("id")
                .to_string(),
        );
    }
    let list = h.get("/api/connections", Some(&h.partner("p2")));
    c.check("listConnectionRequests", &list, 200);
    let outbox = c.check(
        "listOutbox",
        &h.get("/api/outbox", Some(&h.operator())),
        200,
    );
    let approval = emailed_token(&outbox, "/connect/");
    c.check(
        "openApproval",
        &h.get(&format!("/connect/{approval}"), None),
        200,
    );
    let page = h.request("GET", &format!("/connect/{approval}"), &[], b"");
    c.check("openApproval", &page, 200);

    // The newest email is p4's request; approve whichever request the link is for.
    let preview = h.get(&format!("/connect/{approval}"), None).json();
    let approved = preview["request_id"]
        .as_str()
        .expect("request id")
        .to_string();
    let mut decision = c.example("approveConnectionRequest");
    decision["token"] = json!(approval);
    let reply = h.post(
        &format!("/api/connections/{approved}/approve"),
        None,
        &decision,
    );
    assert_eq!(
        c.check("approveConnectionRequest", &reply, 200)["status"],
        "approved"
    );
    let rest: Vec<&String> = ids.iter().filter(|i| **i != approved).collect();
    let owner = |id: &str| {
        ["p2", "p3", "p4"]
            .into_iter()
            .find(|p| {
                h.get("/api/connections", Some(&h.partner(p))).json()["items"]
                    .as_array()
                    .is_some_and(|items| items.iter().any(|i| i["id"] == id))
            })
            .expect("a partner owns the request")
    };
    let declined = h.post(
        &format!("/api/connections/{}/decline", rest[0]),
        Some(&admin),
        &json!({}),
    );
    c.check("declineConnectionRequest", &declined, 200);
    let withdrawer = h.partner(owner(rest[1]));
    let withdrawn = h.post(
        &format!("/api/connections/{}/withdraw", rest[1]),
        Some(&withdrawer),
        &json!({}),
    );
    c.check("withdrawConnectionRequest", &withdrawn, 200);

    // p1's relationship: changed down by the example, up on approval, ended.
    let customers = h.get("/api/customers?status=active", Some(&p1));
    let rel = c.check("listCustomers", &customers, 200)["items"][0]["relationship_id"]
        .as_str()
        .expect("relationship")
        .to_string();
    let change = c.example("changeRelationship");
    let path = format!("/api/relationships/{rel}/change");
    let down = h.post(&path, Some(&p1), &change);
    assert_eq!(
        c.check("changeRelationship", &down, 200)["connection"],
        change["connection"]
    );
    c.check(
        "changeRelationship",
        &h.post(&path, Some(&p1), &change),
        409,
    );
    let up = h.post(
        &path,
        Some(&p1),
        &json!({"connection": "msp", "locale": "de"}),
    );
    let asked = c.check("changeRelationship", &up, 202);
    let approved = h.post(
        &format!(
            "/api/connections/{}/approve",
            asked["id"].as_str().expect("id")
        ),
        Some(&admin),
        &json!({}),
    );
    c.check("approveConnectionRequest", &approved, 200);
    c.check(
        "changeRelationship",
        &h.post(&path, Some(&p1), &json!({"connection": "admin"})),
        422,
    );
    let got = h.get(&format!("/api/relationships/{rel}"), Some(&admin));
    assert_eq!(c.check("getRelationship", &got, 200)["connection"], "msp");
    c.check(
        "getRelationship",
        &h.get(&format!("/api/relationships/{rel}"), Some(&h.partner("p9"))),
        404,
    );
    let end = c.example("endRelationship");
    let path = format!("/api/relationships/{rel}/end");
    let ended = h.post(&path, Some(&p1), &end);
    assert_eq!(c.check("endRelationship", &ended, 200)["status"], "ended");
    c.check("endRelationship", &h.post(&path, Some(&admin), &end), 409);
    let partners = h.get("/api/partners?status=ended", Some(&admin));
    c.check("listPartners", &partners, 200);

    // Webhook deliveries, and one sent again.
    let deliveries = c.check(
        "listWebhookDeliveries",
        &h.get("/api/webhooks/deliveries", Some(&p1)),
        200,
    );
    let delivery = deliveries["items"][0]["id"]
        .as_str()
        .expect("a delivery")
        .to_string();
    let retry = h.post(
        &format!("/api/webhooks/deliveries/{delivery}/retry"),
        Some(&p1),
        &json!({}),
    );
    c.check("retryWebhookDelivery", &retry, 200);

    // The platform's organizations, from the examples.
    let operator = h.operator();
    let described = c.example("putOrganization");
    let path = "/api/organizations/tenant-0001";
    let put = h.send_json("PUT", path, Some(&operator), &described);
    assert_eq!(c.check("putOrganization", &put, 201)["result"], "created");
    let put = h.send_json("PUT", path, Some(&operator), &described);
    assert_eq!(c.check("putOrganization", &put, 200)["result"], "unchanged");
    c.check("getOrganization", &h.get(path, Some(&operator)), 200);
    c.check(
        "getOrganization",
        &h.get("/api/organizations/nobody", Some(&operator)),
        404,
    );
    let import = c.example("importOrganizations");
    let imported = h.post("/api/organizations/import", Some(&operator), &import);
    c.check("importOrganizations", &imported, 200);
    let mut invalid = described.clone();
    invalid["admins"] = json!([]);
    let put = h.send_json("PUT", path, Some(&operator), &invalid);
    c.check("putOrganization", &put, 422);

    // The admin's inbox: a request to the platform's organization.
    let asked = h.post(
        "/api/connections",
        Some(&h.partner("p2")),
        &json!({"organization_id": "tenant-0001", "connection": "msp"}),
    );
    assert_eq!(asked.status, 201, "{}", asked.body);
    let tenant_admin = h.admin("tenant-0001");
    let inbox = h.get("/api/organization/requests", Some(&tenant_admin));
    assert_eq!(
        c.check("listOrganizationRequests", &inbox, 200)["items"][0]["partner_id"],
        "p2"
    );
    let all = h.get("/api/organization/requests?status=all", Some(&tenant_admin));
    c.check("listOrganizationRequests", &all, 200);

    // The platform's feed.
    let feed = c.check(
        "listPlatformDeliveries",
        &h.get("/api/platform/deliveries", Some(&operator)),
        200,
    );
    let delivery = feed["items"][0]["id"].as_str().expect("a delivery");
    let retry = h.post(
        &format!("/api/platform/deliveries/{delivery}/retry"),
        Some(&operator),
        &json!({}),
    );
    c.check("retryPlatformDelivery", &retry, 200);

    // Redelivery: a dispatch call, and enabling a partner's endpoint.
    let report = c.check(
        "dispatchOutbox",
        &h.post("/api/outbox/dispatch?limit=10", Some(&operator), &json!({})),
        200,
    );
    assert!(report["attempted"].is_u64(), "{report}");
    c.check(
        "dispatchOutbox",
        &h.post("/api/outbox/dispatch?limit=0", Some(&operator), &json!({})),
        400,
    );
    c.check(
        "dispatchOutbox",
        &h.post("/api/outbox/dispatch", Some(&p1), &json!({})),
        403,
    );
    let enabled = c.check(
        "enableWebhook",
        &h.post("/api/webhooks/enable", Some(&p1), &json!({})),
        200,
    );
    assert_eq!(enabled["webhook_health"]["state"], "healthy", "{enabled}");
    c.check(
        "enableWebhook",
        &h.post("/api/webhooks/enable", Some(&h.partner("p2")), &json!({})),
        409,
    );

    // Problems are documented too.
    c.check("listInvites", &h.get("/api/invites", None), 401);
    c.check("listOutbox", &h.get("/api/outbox", Some(&p1)), 403);
    c.check(
        "getInvite",
        &h.get("/api/invites/inv_9_nothing", Some(&p1)),
        404,
    );
    c.check(
        "listInvites",
        &h.get("/api/invites?limit=0", Some(&p1)),
        400,
    );
    c.check(
        "createInvite",
        &h.post("/api/invites/generate", Some(&p1), &json!({})),
        422,
    );
    let form = h.request(
        "POST",
        "/api/invites/generate",
        &[
            ("content-type", "text/plain"),
            ("authorization", auth.as_str()),
        ],
        b"x",
    );
    c.check("createInvite", &form, 415);

    let unseen: Vec<&String> = c
        .operations
        .keys()
        .filter(|k| !c.seen.contains(*k))
        .collect();
    assert!(unseen.is_empty(), "operations never exercised: {unseen:?}");
}
