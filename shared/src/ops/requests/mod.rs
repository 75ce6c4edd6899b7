//! Connecting an organization that already exists: the partner asks, the
//! organization's admin approves or declines, the partner may withdraw.
//!
//! A request is written `proposed` (shown nowhere) with its approval email
//! and event queued; the organization's [`Ledger`](crate::domain::Ledger)
//! then decides, by one verified swap, whether it may be open (the commit:
//! one open request per pair); only then is the email sent and the request
//! shown. A decision is a verified swap of the request itself; approval also
//! creates the relationship through [`super::Relationships`].
//!
//! | file | what it holds |
//! |---|---|
//! | `lifecycle.rs` | create, withdraw, approve, decline: a request's commits |
//! | `change.rs` | change requests: a relationship's change waiting for approval |
//! | `approval.rs` | the approval link: its email and the page it opens |
//! | `lists.rs` | the partner's requests and the organization's inbox |
//! | `settle.rs` | reading a request and rolling forward what its commit left |

mod approval;
mod change;
mod lifecycle;
mod lists;
mod settle;

pub use approval::{ApprovalPreview, ChangePreview};
pub use lists::InboxView;

use serde::Deserialize;

use crate::auth::Principal;
use crate::domain::{ConnectionRequest, PartnerProfile, Relationship};
use crate::ops::App;
use crate::ops::organizations::Known;
use crate::problem::{Problem, ProblemKind};
use crate::view::RequestView;

/// `POST /api/connections` body.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    /// The organization to connect to.
    pub organization_id: Option<String>,
    /// The connection asked for.
    pub connection: Option<String>,
    /// The language of the approval email and page (a BCP 47 tag such as
    /// `de` or `nl-BE`); without one, the email is in English and the page
    /// in the language the admin's browser asks for.
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub locale: Option<String>,
}

/// How a decision is authorised.
pub enum Authority<'a> {
    /// The organization admin's bearer token.
    Bearer(&'a Principal),
    /// The token from the approval link.
    Link(&'a str),
}

/// Connection requests.
pub struct Requests<'a, S, T> {
    pub(crate) app: &'a App<S, T>,
}

/// A request as read, with the relationship a pending change request's
/// refresh read on the way (current, and finished), so that a decision on
/// it does not read it again.
struct Loaded {
    record: ConnectionRequest,
    relationship: Option<Relationship>,
    /// The organization with its ledger, and the partner's profile, when
    /// they were read with the request ([`Requests::load_deciding`]).
    alongside: Option<(Option<Known>, PartnerProfile)>,
}

/// The request `loaded` found, if opened; any other is not found.
fn opened((key, loaded): (String, Option<Loaded>)) -> Result<(String, Loaded), Problem> {
    match loaded {
        Some(loaded) if loaded.record.opened() => Ok((key, loaded)),
        _ => Err(Problem::not_found("connection request")),
    }
}

/// What a decision makes of a pending request.
enum Decision {
    Approve(Box<Relationship>),
    Decline,
}

fn already_connected() -> Problem {
    Problem::new(
        ProblemKind::AlreadyConnected,
        "you are already connected to this organization",
    )
}

fn duplicate() -> Problem {
    Problem::new(
        ProblemKind::DuplicateRequest,
        "you already have an open request for this organization; withdraw it or wait for a decision",
    )
}

fn event_data(record: &ConnectionRequest, now: u64) -> Result<serde_json::Value, Problem> {
    let mut view = RequestView::new(record, now);
    view.history.clear();
    serde_json::to_value(view).map_err(|e| Problem::new(ProblemKind::Internal, e.to_string()))
}
