//! The emails people receive, in their language ([`super`]): one
//! function per email, each a list of blocks (paragraphs, a list, a link)
//! made of messages of the catalogs. The blocks are written out twice, as
//! plain text and as HTML, so both bodies say the same words in the same
//! order with the same link. The HTML is a maud template like the pages:
//! every word and value in it is escaped.

use maud::{DOCTYPE, Markup, html};

use super::{Language, Msg};
use crate::capabilities::ConnectionType;

/// An email's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body: the same blocks as `text`.
    pub html: String,
}

/// What the invite email says.
#[derive(Debug, Clone, Copy)]
pub struct Invitation<'a> {
    /// The language it is written in.
    pub language: Language,
    /// The invited contact's first name.
    pub first_name: &'a str,
    /// Their last name.
    pub last_name: &'a str,
    /// The inviting partner's name.
    pub partner: &'a str,
    /// The invited company.
    pub company: &'a str,
    /// The vendor's name.
    pub vendor: &'a str,
    /// How the company would be connected.
    pub connection: ConnectionType,
    /// Who its first contact would be.
    pub first_contact: &'a str,
    /// The registration link.
    pub link: &'a str,
    /// When the link expires (Unix seconds).
    pub expires_at: u64,
}

/// The invite email, to the invited contact.
pub fn invitation(m: &Invitation<'_>) -> Message {
    let Invitation {
        language: l,
        first_name,
        last_name,
        partner,
        company,
        vendor,
        connection,
        first_contact,
        link,
        expires_at,
    } = *m;
    let connection_name = l.connection(connection);
    let expires = l.date_time(expires_at);
    let subject = l.text(
        Msg::EmailInvitationSubject,
        &[("partner", partner), ("company", company)],
    );
    let blocks = [
        Block::Paragraph(vec![l.text(
            Msg::EmailInvitationGreeting,
            &[("first_name", first_name), ("last_name", last_name)],
        )]),
        Block::Paragraph(vec![
            l.text(
                Msg::EmailInvitationIntro,
                &[
                    ("partner", partner),
                    ("company", company),
                    ("vendor", vendor),
                    ("connection", connection_name),
                ],
            ),
            l.text(
                Msg::EmailInvitationFirstContact,
                &[("first_contact", first_contact)],
            ),
        ]),
        grants(l, Msg::EmailGrants, connection),
        Block::Link(l.text(Msg::EmailInvitationAction, &[]), link),
        Block::Paragraph(vec![
            l.text(Msg::EmailInvitationExpires, &[("date", &expires)]),
        ]),
    ];
    write(l, subject, &blocks)
}

/// What the approval email says.
#[derive(Debug, Clone, Copy)]
pub struct ApprovalRequest<'a> {
    /// The language it is written in.
    pub language: Language,
    /// The asking partner's name.
    pub partner: &'a str,
    /// The organization asked.
    pub organization: &'a str,
    /// The vendor's name.
    pub vendor: &'a str,
    /// The connection asked for.
    pub connection: ConnectionType,
    /// For a change of an existing relationship: its connection now.
    pub from: Option<ConnectionType>,
    /// The approval link.
    pub link: &'a str,
    /// When the request expires (Unix seconds).
    pub expires_at: u64,
}

/// The approval email, to the organization's admin.
pub fn approval_request(m: &ApprovalRequest<'_>) -> Message {
    let ApprovalRequest {
        language: l,
        partner,
        organization,
        vendor,
        connection,
        from,
        link,
        expires_at,
    } = *m;
    let expires = l.date_time(expires_at);
    if let Some(from) = from {
        return change_request(m, from);
    }
    let subject = l.text(
        Msg::EmailApprovalSubject,
        &[("partner", partner), ("organization", organization)],
    );
    let blocks = [
        Block::Paragraph(vec![l.text(Msg::EmailApprovalGreeting, &[])]),
        Block::Paragraph(vec![l.text(
            Msg::EmailApprovalIntro,
            &[
                ("partner", partner),
                ("organization", organization),
                ("vendor", vendor),
                ("connection", l.connection(connection)),
            ],
        )]),
        grants(l, Msg::EmailWouldGrant, connection),
        Block::Link(l.text(Msg::EmailApprovalAction, &[]), link),
        Block::Paragraph(vec![
            l.text(Msg::EmailApprovalExpires, &[("date", &expires)]),
        ]),
    ];
    write(l, subject, &blocks)
}

/// The approval email of a change of connection: what it adds and what it
/// takes away.
fn change_request(m: &ApprovalRequest<'_>, from: ConnectionType) -> Message {
    let l = m.language;
    let names = [("partner", m.partner), ("organization", m.organization)];
    let subject = l.text(Msg::EmailApprovalChangeSubject, &names);
    let (gained, lost) = crate::domain::relationship::difference(from, m.connection);
    let list = |intro: Msg, capabilities: Vec<crate::capabilities::Capability>| {
        Block::List(
            l.text(intro, &[]),
            capabilities.into_iter().map(|c| l.capability(c)).collect(),
        )
    };
    let expires = l.date_time(m.expires_at);
    let mut blocks = vec![
        Block::Paragraph(vec![l.text(Msg::EmailApprovalGreeting, &[])]),
        Block::Paragraph(vec![l.text(
            Msg::EmailApprovalChangeIntro,
            &[
                ("partner", m.partner),
                ("organization", m.organization),
                ("vendor", m.vendor),
                ("from", l.connection(from)),
                ("to", l.connection(m.connection)),
            ],
        )]),
        list(Msg::EmailApprovalGains, gained),
    ];
    if !lost.is_empty() {
        blocks.push(list(Msg::EmailApprovalLoses, lost));
    }
    blocks.push(Block::Link(l.text(Msg::EmailApprovalAction, &[]), m.link));
    blocks.push(Block::Paragraph(vec![
        l.text(Msg::EmailApprovalExpires, &[("date", &expires)]),
    ]));
    write(l, subject, &blocks)
}

/// A part of an email's body.
enum Block<'a> {
    /// Sentences, one a line.
    Paragraph(Vec<String>),
    /// A sentence introducing a list, and its items.
    List(String, Vec<&'static str>),
    /// A sentence introducing a link, and the link.
    Link(String, &'a str),
}

/// What `connection` grants, introduced by `intro`.
fn grants(l: Language, intro: Msg, connection: ConnectionType) -> Block<'static> {
    Block::List(
        l.text(intro, &[]),
        connection
            .capabilities()
            .into_iter()
            .map(|c| l.capability(c))
            .collect(),
    )
}

/// The email of `blocks`, as text and as HTML.
fn write(language: Language, subject: String, blocks: &[Block<'_>]) -> Message {
    let text: Vec<String> = blocks
        .iter()
        .map(|block| match block {
            Block::Paragraph(lines) => lines.join("\n"),
            Block::List(intro, items) => std::iter::once(intro.clone())
                .chain(items.iter().map(|item| format!("- {item}")))
                .collect::<Vec<_>>()
                .join("\n"),
            Block::Link(intro, link) => format!("{intro}\n{link}"),
        })
        .collect();
    let html = document(language, &subject, blocks);
    Message {
        subject,
        text: text.join("\n\n") + "\n",
        html,
    }
}

/// The HTML body: one element per block, every word escaped.
fn document(language: Language, subject: &str, blocks: &[Block<'_>]) -> String {
    let body: Markup = html! {
        @for block in blocks {
            @match block {
                Block::Paragraph(lines) => p {
                    @for (i, line) in lines.iter().enumerate() {
                        @if i > 0 { br; }
                        (line)
                    }
                },
                Block::List(intro, items) => {
                    p { (intro) }
                    ul { @for item in items { li { (item) } } }
                },
                Block::Link(intro, link) => p {
                    (intro) br;
                    a href=(link) { (link) }
                },
            }
        }
    };
    html! {
        (DOCTYPE) "\n"
        html lang=(language.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (subject) }
            }
            body style="font-family:system-ui,sans-serif;line-height:1.5;color:#1a1a1a;max-width:42rem" {
                (body)
            }
        }
        "\n"
    }
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invitation_for(language: Language, partner: &str) -> Message {
        invitation(&Invitation {
            language,
            first_name: "Ada",
            last_name: "Lovelace",
            partner,
            company: "Globex GmbH",
            vendor: "Cloudvendor",
            connection: ConnectionType::ResellerWithSupport,
            first_contact: partner,
            link: "https://app.example/invite/pi1.k1.abc?x=1&y=2",
            expires_at: 1_795_305_600 + 9 * 86_400 + 13 * 3600,
        })
    }

    #[test]
    fn the_invitation_in_english() {
        let m = invitation_for(Language::En, "Partner & Co");
        assert_eq!(m.subject, "Partner & Co invites Globex GmbH to connect");
        assert_eq!(
            m.text,
            "Hello Ada Lovelace,\n\n\
             Partner & Co invites Globex GmbH to Cloudvendor. Partner & Co would be connected to your organization as Reseller with support (first contact).\n\
             Your first contact for support will be Partner & Co.\n\n\
             This connection grants:\n\
             - First contact for the customer (support)\n\
             - Billing via partner\n\n\
             Register or link your organization here:\n\
             https://app.example/invite/pi1.k1.abc?x=1&y=2\n\n\
             This link expires on December 1, 2026 at 1:00 PM UTC.\n"
        );
        assert!(
            m.html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"),
            "{}",
            m.html
        );
        assert!(
            m.html
                .contains("<title>Partner &amp; Co invites Globex GmbH to connect</title>"),
            "{}",
            m.html
        );
        assert!(
            m.html.contains(
                "<p>Register or link your organization here:<br>\
                 <a href=\"https://app.example/invite/pi1.k1.abc?x=1&amp;y=2\">https://app.example/invite/pi1.k1.abc?x=1&amp;y=2</a></p>"
            ),
            "{}",
            m.html
        );
        assert!(
            m.html.contains(
                "<ul><li>First contact for the customer (support)</li><li>Billing via partner</li></ul>"
            ),
            "{}",
            m.html
        );
    }

    #[test]
    fn the_html_is_escaped_and_links_as_the_text_does() {
        let raw = "<b onclick=\"x\">Evil & Co</b>";
        for language in Language::ALL {
            let m = invitation_for(language, raw);
            assert!(m.text.contains(raw), "the text is plain: {}", m.text);
            assert!(!m.html.contains("<b "), "{}", m.html);
            assert!(
                m.html
                    .contains("&lt;b onclick=&quot;x&quot;&gt;Evil &amp; Co&lt;/b&gt;"),
                "{}",
                m.html
            );
            let text_link = m
                .text
                .lines()
                .find(|l| l.starts_with("https://"))
                .expect("a link line");
            let href = m
                .html
                .split("href=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .expect("a link")
                .replace("&amp;", "&");
            assert_eq!(href, text_link, "{language:?}");
            assert_eq!(m.html.matches("href=").count(), 1, "one link: {}", m.html);
        }
    }

    #[test]
    fn the_approval_request_in_german() {
        let m = approval_request(&ApprovalRequest {
            language: Language::De,
            partner: "Partner p1",
            organization: "Globex GmbH",
            vendor: "Cloudvendor",
            connection: ConnectionType::Msp,
            from: None,
            link: "https://app.example/connect/pi1.k1.abc",
            expires_at: 1_795_305_600 + 9 * 86_400 + 13 * 3600,
        });
        assert_eq!(
            m.subject,
            "Partner p1 möchte sich mit Globex GmbH verbinden"
        );
        assert!(m.text.starts_with("Guten Tag,\n\n"), "{}", m.text);
        assert!(
            m.text.contains(
                "Partner p1 möchte auf Cloudvendor als Managed Service Provider (MSP) mit Globex GmbH verbunden werden."
            ),
            "{}",
            m.text
        );
        assert!(
            m.text
                .contains("- Verwaltung des Portals im Auftrag des Kunden\n"),
            "{}",
            m.text
        );
        assert!(
            m.text
                .contains("Die Anfrage läuft am 1. Dezember 2026 um 13:00 Uhr UTC ab."),
            "{}",
            m.text
        );
        assert!(m.html.contains("<html lang=\"de\">"), "{}", m.html);
    }
}
