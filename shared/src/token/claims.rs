//! The signed payload and its canonical binary encoding.
//!
//! Layout (all integers big-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 1 | purpose: 1 invite, 2 connect, 3 access |
//! | 1 | role: 0 none, 1 partner, 2 customer admin, 3 operator (non-zero exactly for access) |
//! | 4 | generation |
//! | 8 | issued at (Unix seconds) |
//! | 8 | expires at (Unix seconds) |
//! | 1 + n | record id, n in 1..=64 |
//! | 1 + n | partner id, n in 0..=64 (0: none) |
//! | 1 + n | organization id, n in 0..=64 (0: none) |
//! | 1 + n | subject, n in 0..=64 (0: none) |
//!
//! Ids are `[A-Za-z0-9_-]`. Nothing may follow the subject. Every value has
//! exactly one encoding, so a token cannot be re-encoded into a second valid one.

use super::TokenError;

/// Longest id in a token.
pub const MAX_ID_LEN: usize = 64;

/// What a token may be used for; a token of one purpose is never accepted for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// An invite link.
    Invite,
    /// A connection-request approval link.
    Connect,
    /// An API access token.
    Access,
}

/// The role an access token carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A partner's user or system.
    Partner,
    /// An admin of a customer organization.
    CustomerAdmin,
    /// The vendor's staff.
    Operator,
}

/// The signed payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// What the token is for.
    pub purpose: Purpose,
    /// The invite, connection request or access-token id.
    pub record_id: String,
    /// The partner.
    pub partner_id: Option<String>,
    /// The organization.
    pub organization_id: Option<String>,
    /// The user (access tokens).
    pub subject: Option<String>,
    /// The role (access tokens only).
    pub role: Option<Role>,
    /// When it was issued (Unix seconds).
    pub issued_at: u64,
    /// Invalid from this second on.
    pub expires_at: u64,
    /// The record's link generation; a resend bumps it and kills older links.
    pub generation: u32,
}

/// Whether `b` may appear in an id.
pub fn is_id_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn purpose_code(p: Purpose) -> u8 {
    match p {
        Purpose::Invite => 1,
        Purpose::Connect => 2,
        Purpose::Access => 3,
    }
}

fn role_code(r: Option<Role>) -> u8 {
    match r {
        None => 0,
        Some(Role::Partner) => 1,
        Some(Role::CustomerAdmin) => 2,
        Some(Role::Operator) => 3,
    }
}

fn push_id(out: &mut Vec<u8>, id: Option<&str>) -> Result<(), TokenError> {
    let id = id.unwrap_or("");
    if id.len() > MAX_ID_LEN || !id.bytes().all(is_id_byte) {
        return Err(TokenError::InvalidClaim);
    }
    out.push(id.len() as u8);
    out.extend_from_slice(id.as_bytes());
    Ok(())
}

impl Claims {
    /// The canonical binary form.
    pub fn encode(&self) -> Result<Vec<u8>, TokenError> {
        let empty = [&self.partner_id, &self.organization_id, &self.subject]
            .iter()
            .any(|v| v.as_deref() == Some(""));
        if self.record_id.is_empty()
            || empty
            || self.role.is_some() != (self.purpose == Purpose::Access)
        {
            return Err(TokenError::InvalidClaim);
        }
        let mut out = Vec::with_capacity(26 + 4 + self.record_id.len() + 64);
        out.push(purpose_code(self.purpose));
        out.push(role_code(self.role));
        out.extend_from_slice(&self.generation.to_be_bytes());
        out.extend_from_slice(&self.issued_at.to_be_bytes());
        out.extend_from_slice(&self.expires_at.to_be_bytes());
        push_id(&mut out, Some(&self.record_id))?;
        push_id(&mut out, self.partner_id.as_deref())?;
        push_id(&mut out, self.organization_id.as_deref())?;
        push_id(&mut out, self.subject.as_deref())?;
        Ok(out)
    }

    /// Parses the canonical binary form; anything else is [`TokenError::BadPayload`].
    pub fn decode(bytes: &[u8]) -> Result<Claims, TokenError> {
        let mut r = Reader(bytes);
        let purpose = match r.byte()? {
            1 => Purpose::Invite,
            2 => Purpose::Connect,
            3 => Purpose::Access,
            _ => return Err(TokenError::BadPayload),
        };
        let role = match r.byte()? {
            0 => None,
            1 => Some(Role::Partner),
            2 => Some(Role::CustomerAdmin),
            3 => Some(Role::Operator),
            _ => return Err(TokenError::BadPayload),
        };
        let generation = u32::from_be_bytes(r.array()?);
        let issued_at = u64::from_be_bytes(r.array()?);
        let expires_at = u64::from_be_bytes(r.array()?);
        let record_id = r.id()?.ok_or(TokenError::BadPayload)?;
        let partner_id = r.id()?;
        let organization_id = r.id()?;
        let subject = r.id()?;
        if !r.0.is_empty() || role.is_some() != (purpose == Purpose::Access) {
            return Err(TokenError::BadPayload);
        }
        Ok(Claims {
            purpose,
            record_id,
            partner_id,
            organization_id,
            subject,
            role,
            issued_at,
            expires_at,
            generation,
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TokenError> {
        if self.0.len() < n {
            return Err(TokenError::BadPayload);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, TokenError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], TokenError> {
        self.take(N)?.try_into().map_err(|_| TokenError::BadPayload)
    }

    fn id(&mut self) -> Result<Option<String>, TokenError> {
        let n = usize::from(self.byte()?);
        if n > MAX_ID_LEN {
            return Err(TokenError::BadPayload);
        }
        let bytes = self.take(n)?;
        if !bytes.iter().all(|b| is_id_byte(*b)) {
            return Err(TokenError::BadPayload);
        }
        Ok((n > 0).then(|| bytes.iter().map(|b| char::from(*b)).collect()))
    }
}
