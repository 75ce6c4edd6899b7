//! Server-rendered pages for the people who open links: plain HTML forms that
//! work without JavaScript. Every value from outside goes through [`escape`].

use std::fmt::Write;

use crate::ops::{ApprovalPreview, RedeemPreview, Redeemed};
use crate::problem::Problem;
use crate::view::RequestView;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}\
h1{font-size:1.5rem}fieldset{border:1px solid #ccc;border-radius:.5rem;margin:1rem 0;padding:1rem}\
label{display:block;margin:.5rem 0 .1rem;font-weight:600}input{width:100%;padding:.4rem;font-size:1rem;box-sizing:border-box}\
button{margin-top:1rem;padding:.6rem 1.2rem;font-size:1rem;border-radius:.4rem;border:1px solid #245;background:#245;color:#fff;cursor:pointer}\
button.secondary{background:#fff;color:#245}button:focus,input:focus{outline:3px solid #f90;outline-offset:2px}\
.grants li::marker{content:'\\2713  '}.muted{color:#555}.problem{border-left:4px solid #b00;padding-left:1rem}";

fn layout(title: &str, main: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{main}</main></body></html>\n",
        escape(title)
    )
}

fn input(
    out: &mut String,
    name: &str,
    label: &str,
    value: Option<&str>,
    required: bool,
    autocomplete: &str,
) {
    let _ = write!(
        out,
        "<label for=\"{name}\">{label}{}</label><input id=\"{name}\" name=\"{name}\" value=\"{}\" autocomplete=\"{autocomplete}\"{}>",
        if required { " (required)" } else { "" },
        escape(value.unwrap_or("")),
        if required { " required" } else { "" },
    );
}

fn grants(out: &mut String, labels: impl Iterator<Item = &'static str>) {
    out.push_str("<ul class=\"grants\">");
    for label in labels {
        let _ = write!(out, "<li>{}</li>", escape(label));
    }
    out.push_str("</ul>");
}

/// The registration page for an invite.
pub fn registration(p: &RedeemPreview, token: &str) -> String {
    let c = &p.customer;
    let mut m = String::new();
    let _ = write!(
        m,
        "<h1>{} invites you to connect</h1>\
         <p><strong>{}</strong> will be connected to your organization as <strong>{}</strong>. This connection grants:</p>",
        escape(&p.partner_name),
        escape(&p.partner_name),
        escape(p.connection_label),
    );
    grants(&mut m, p.capabilities.iter().map(|c| c.label));
    let _ = write!(
        m,
        "<p>Your first contact for support will be <strong>{}</strong>. Pricing is set by your contract.</p>\
         <p class=\"muted\">This invitation expires on <time datetime=\"{1}\">{1}</time>.</p>",
        escape(&p.first_contact_name),
        escape(&p.expires_at),
    );
    let _ = write!(
        m,
        "<form method=\"post\" action=\"/api/invites/redeem\"><input type=\"hidden\" name=\"token\" value=\"{}\">",
        escape(token)
    );
    m.push_str("<fieldset><legend>Company</legend>");
    input(
        &mut m,
        "company_name",
        "Company name",
        Some(&c.company.name),
        true,
        "organization",
    );
    let a = &c.company.address;
    input(
        &mut m,
        "street",
        "Street",
        a.street.as_deref(),
        false,
        "address-line1",
    );
    input(
        &mut m,
        "house_number",
        "House number",
        a.house_number.as_deref(),
        false,
        "address-line2",
    );
    input(
        &mut m,
        "postcode",
        "Postcode",
        a.postcode.as_deref(),
        false,
        "postal-code",
    );
    input(
        &mut m,
        "city",
        "City",
        a.city.as_deref(),
        false,
        "address-level2",
    );
    input(
        &mut m,
        "country",
        "Country (two letters, e.g. DE)",
        a.country.as_deref(),
        false,
        "country",
    );
    input(
        &mut m,
        "vat_id",
        "VAT ID",
        c.company.vat_id.as_deref(),
        false,
        "off",
    );
    m.push_str(
        "</fieldset><fieldset><legend>Your details (you become the organization's admin)</legend>",
    );
    input(
        &mut m,
        "first_name",
        "First name",
        Some(&c.contact.first_name),
        true,
        "given-name",
    );
    input(
        &mut m,
        "last_name",
        "Last name",
        Some(&c.contact.last_name),
        true,
        "family-name",
    );
    let _ = write!(
        m,
        "<p><strong>Email:</strong> <span id=\"contact-email\">{}</span><br><span class=\"muted\">The invitation was sent to this address; it becomes your login.</span></p>",
        escape(&c.contact.email)
    );
    m.push_str("</fieldset><fieldset><legend>Billing</legend>");
    input(
        &mut m,
        "billing_phone",
        "Billing phone (e.g. +4930123456)",
        c.billing.phone.as_deref(),
        false,
        "tel",
    );
    m.push_str(
        "</fieldset><button type=\"submit\">Register and connect</button></form>\
         <p class=\"muted\">Already have an organization? Sign in to the portal as its admin and link it there: \
         its settings stay as they are.</p>",
    );
    layout(&format!("{} invites you", p.partner_name), &m)
}

/// Turns the registration form into a redeem request: filled fields patch
/// the invited details, emptied optional fields remove them.
pub fn form_to_redeem_request(form: &[(String, String)]) -> String {
    let get = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .map(|v| {
                if v.is_empty() {
                    serde_json::Value::Null
                } else {
                    serde_json::Value::String(v.to_string())
                }
            })
    };
    let mut organization = serde_json::json!({
        "company": {"address": {}},
        "contact": {},
        "billing": {},
    });
    let fields: [(&str, &[&str]); 9] = [
        ("company_name", &["company", "name"]),
        ("street", &["company", "address", "street"]),
        ("house_number", &["company", "address", "house_number"]),
        ("postcode", &["company", "address", "postcode"]),
        ("city", &["company", "address", "city"]),
        ("country", &["company", "address", "country"]),
        ("vat_id", &["company", "vat_id"]),
        ("first_name", &["contact", "first_name"]),
        ("last_name", &["contact", "last_name"]),
    ];
    let mut set = |path: &[&str], value: serde_json::Value| {
        let mut node = &mut organization;
        for key in &path[..path.len() - 1] {
            node = &mut node[*key];
        }
        node[path[path.len() - 1]] = value;
    };
    for (name, path) in fields {
        if let Some(v) = get(name) {
            set(path, v);
        }
    }
    if let Some(v) = get("billing_phone") {
        set(&["billing", "phone"], v);
    }
    serde_json::json!({ "token": get("token").unwrap_or(serde_json::Value::Null), "organization": organization })
        .to_string()
}

/// The page after a successful registration.
pub fn registered(r: &Redeemed) -> String {
    let mut m = String::new();
    let _ = write!(
        m,
        "<h1>You are connected</h1><p>Your organization is now connected to <strong>{}</strong> as <strong>{}</strong>.</p>",
        escape(&r.partner_name),
        escape(r.connection.label())
    );
    grants(&mut m, r.capabilities.iter().map(|c| c.label()));
    let _ = write!(
        m,
        "<p class=\"muted\">Organization id: <code>{}</code>{}</p>",
        escape(&r.organization_id),
        if r.existing_organization {
            " (settings unchanged)"
        } else {
            ""
        }
    );
    layout("Connected", &m)
}

/// The approval page for a connection request.
pub fn approval(p: &ApprovalPreview, token: &str) -> String {
    let mut m = String::new();
    let _ = write!(
        m,
        "<h1>{} asks to connect to {}</h1><p>Approving connects them as <strong>{}</strong>, which grants:</p>",
        escape(&p.partner_name),
        escape(&p.organization_name),
        escape(p.connection_label)
    );
    grants(&mut m, p.capabilities.iter().map(|c| c.label));
    let _ = write!(
        m,
        "<p>Your organization's settings stay as they are. The request expires on <time datetime=\"{0}\">{0}</time>.</p>",
        escape(&p.expires_at)
    );
    let id = escape(&p.request_id);
    let token = escape(token);
    let _ = write!(
        m,
        "<form method=\"post\" action=\"/api/connections/{id}/approve\"><input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <button type=\"submit\">Approve</button></form>\
         <form method=\"post\" action=\"/api/connections/{id}/decline\"><input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <button type=\"submit\" class=\"secondary\">Decline</button></form>"
    );
    layout(&format!("{} asks to connect", p.partner_name), &m)
}

/// The page after a decision.
pub fn decided(r: &RequestView) -> String {
    let m = format!(
        "<h1>Request {}</h1><p>The connection request was {}. You can close this page.</p>",
        escape(r.status),
        escape(r.status)
    );
    layout(&format!("Request {}", r.status), &m)
}

/// A problem, for people.
pub fn problem(p: &Problem) -> String {
    let m = format!(
        "<div class=\"problem\" role=\"alert\"><h1>{}</h1><p>{}</p></div>\
         <p class=\"muted\">If you think this is a mistake, ask the sender for a new link.</p>",
        escape(p.kind.title()),
        escape(&p.detail)
    );
    layout(p.kind.title(), &m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn form_patches_the_invited_details() {
        let form: Vec<(String, String)> = [
            ("token", "t"),
            ("company_name", "New"),
            ("vat_id", ""),
            ("city", "Köln"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let v: serde_json::Value =
            serde_json::from_str(&form_to_redeem_request(&form)).expect("json");
        assert_eq!(v["token"], "t");
        assert_eq!(v["organization"]["company"]["name"], "New");
        assert!(
            v["organization"]["company"]["vat_id"].is_null(),
            "emptied means removed"
        );
        assert_eq!(v["organization"]["company"]["address"]["city"], "Köln");
        assert!(
            v["organization"]["contact"].get("email").is_none(),
            "the email is never taken from the form"
        );
    }
}
