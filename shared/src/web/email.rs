//! The emails people receive, as subject and text: one function per email,
//! each one template whose words read in order with named placeholders.
//! Plain text needs no HTML escaping, so these stay `format!` strings.

use crate::capabilities::ConnectionType;
use crate::clock::readable;

/// An email's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
}

/// What the invite email says.
#[derive(Debug, Clone, Copy)]
pub struct Invitation<'a> {
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
    let (connection, expires) = (connection.label(), readable(expires_at));
    Message {
        subject: format!("{partner} invites {company} to connect"),
        text: format!(
            "Hello {first_name} {last_name},\n\n\
             {partner} invites {company} to {vendor} as {connection}.\n\
             Your first contact for support will be {first_contact}.\n\n\
             Register or link your organization here:\n{link}\n\n\
             This link expires on {expires}.\n"
        ),
    }
}

/// What the approval email says.
#[derive(Debug, Clone, Copy)]
pub struct ApprovalRequest<'a> {
    /// The asking partner's name.
    pub partner: &'a str,
    /// The organization asked.
    pub organization: &'a str,
    /// The vendor's name.
    pub vendor: &'a str,
    /// The connection asked for.
    pub connection: ConnectionType,
    /// The approval link.
    pub link: &'a str,
    /// When the request expires (Unix seconds).
    pub expires_at: u64,
}

/// The approval email, to the organization's admin.
pub fn approval_request(m: &ApprovalRequest<'_>) -> Message {
    let ApprovalRequest {
        partner,
        organization,
        vendor,
        connection,
        link,
        expires_at,
    } = *m;
    let (connection, expires) = (connection.label(), readable(expires_at));
    Message {
        subject: format!("{partner} asks to connect to {organization}"),
        text: format!(
            "Hello,\n\n\
             {partner} asks to be connected to {organization} on {vendor} as {connection}.\n\n\
             Review the request and approve or decline it here:\n{link}\n\n\
             The request expires on {expires}. Your organization's settings stay as they are either way.\n"
        ),
    }
}
