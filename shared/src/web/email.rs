//! The emails people receive, as subject and text: one function per email.

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
    Message {
        subject: format!("{} invites {} to connect", m.partner, m.company),
        text: format!(
            "Hello {} {},\n\n{} invites {} to {} as {}.\nYour first contact for support will be {}.\n\n\
             Register or link your organization here:\n{}\n\nThis link expires on {}.\n",
            m.first_name,
            m.last_name,
            m.partner,
            m.company,
            m.vendor,
            m.connection.label(),
            m.first_contact,
            m.link,
            readable(m.expires_at),
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
    Message {
        subject: format!("{} asks to connect to {}", m.partner, m.organization),
        text: format!(
            "Hello,\n\n{} asks to be connected to {} on {} as {}.\n\nReview the request and approve or decline it here:\n{}\n\n\
             The request expires on {}. Your organization's settings stay as they are either way.\n",
            m.partner,
            m.organization,
            m.vendor,
            m.connection.label(),
            m.link,
            readable(m.expires_at),
        ),
    }
}
