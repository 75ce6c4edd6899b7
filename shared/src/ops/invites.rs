//! A partner's invites: create, resend, revoke, read and list.
//!
//! Creating writes the invite email and the `invite.created` delivery first
//! (queued), then the invite under a fresh slot (the commit, naming them in
//! its intent), then delivers them and clears the intent. Resend and revoke
//! are one [`Invites::transition`]: prepare against the invite as read,
//! commit by a verified swap that refuses a record changed meanwhile, then
//! deliver.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::outbox::{Prepared, keys_of};
use super::{App, Page, PageRequest};
use crate::auth::Principal;
use crate::capabilities::{ConnectionType, FirstContact};
use crate::domain::invite::{DEFAULT_TTL_DAYS, MAX_TTL_DAYS};
use crate::domain::{
    Action, CustomerDetails, CustomerInput, Email, EventType, Intent, Invite, InviteHead, InviteId,
    InviteState, InviteStatus, PartnerProfile, Source, Stamp,
};
use crate::messages::Language;
use crate::messages::email::{self, Invitation, Message};
use crate::outbound::Transport;
use crate::problem::{FieldRule, Problem, ProblemKind};
use crate::store::{Edit, KeyValue, Writes, keys};
use crate::token::{Claims, Purpose};
use crate::validation::{MAX_TEXT, Report, same_email};
use crate::view::{InviteSummary, InviteView};

/// `POST /api/invites/generate` body.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInvite {
    /// `msp`, `reseller_with_support` or `reseller_without_support`.
    pub connection: Option<String>,
    /// The customer's details.
    pub customer: Option<CustomerInput>,
    /// Link lifetime in days (default 7, at most 30).
    #[serde(default, deserialize_with = "crate::validation::whole_number")]
    pub ttl_days: Option<i64>,
    /// Whether to email the contact (default true).
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub send_email: Option<bool>,
    /// Language tag for the email and page.
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub locale: Option<String>,
    /// The partner's own reference.
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub partner_reference: Option<String>,
}

/// Longest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// An `Idempotency-Key` and the request it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// SHA-256 of the key, as it appears in store keys.
    hash: String,
    /// SHA-256 of the request body: a reused key with another body is refused.
    fingerprint: String,
}

impl IdempotencyKey {
    /// The header value `key` sent with `body`.
    pub fn new(key: &str, body: &[u8]) -> Result<IdempotencyKey, Problem> {
        if key.is_empty()
            || key.len() > MAX_IDEMPOTENCY_KEY
            || !key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(Problem::new(
                ProblemKind::Malformed,
                format!(
                    "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"
                ),
            ));
        }
        Ok(IdempotencyKey {
            hash: sha256_hex(key.as_bytes()),
            fingerprint: sha256_hex(body),
        })
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct ValidInvite {
    connection: ConnectionType,
    customer: CustomerDetails,
    ttl_seconds: u64,
    send_email: bool,
    locale: Option<String>,
    partner_reference: Option<String>,
}

impl CreateInvite {
    /// Checks every field at once against the partner's profile.
    fn validate(&self, profile: &PartnerProfile) -> Result<ValidInvite, Problem> {
        let mut report = Report::new();
        let connection = report.required_connection("/connection", self.connection.as_deref());
        let mut customer = self
            .customer
            .clone()
            .unwrap_or_default()
            .validate("/customer", &mut report);
        match (&customer.billing.email, profile.billing_accounts.first()) {
            (Some(email), _) => {
                if !profile
                    .billing_accounts
                    .iter()
                    .any(|a| same_email(a, email))
                {
                    report.push(
                        "/customer/billing/email",
                        FieldRule::BillingAccount {
                            accounts: profile.billing_accounts.clone(),
                        },
                    );
                }
            }
            (None, Some(first)) => customer.billing.email = Some(first.clone()),
            (None, None) => {}
        }
        let ttl_days = self.ttl_days.unwrap_or(i64::from(DEFAULT_TTL_DAYS));
        if !(1..=i64::from(MAX_TTL_DAYS)).contains(&ttl_days) {
            report.push("/ttl_days", FieldRule::TtlDays { max: MAX_TTL_DAYS });
        }
        let locale = report.optional_locale("/locale", self.locale.as_deref());
        let partner_reference = report.optional_text(
            "/partner_reference",
            self.partner_reference.as_deref(),
            MAX_TEXT,
        );
        report.finish().map_err(Problem::validation)?;
        Ok(ValidInvite {
            connection: connection.unwrap_or(ConnectionType::ResellerWithoutSupport),
            customer,
            ttl_seconds: ttl_days.unsigned_abs() * 86_400,
            send_email: self.send_email.unwrap_or(true),
            locale,
            partner_reference,
        })
    }
}

/// Invites: create, resend, revoke, read, list.
pub struct Invites<'a, S, T> {
    pub(crate) app: &'a App<S, T>,
}

/// How a transition's swap ended.
enum Swap {
    /// Committed: the invite as stored.
    Done(Box<Invite>),
    /// The invite changed after it was read: prepare again against this one.
    Stale(Box<Invite>),
}

impl<S: KeyValue, T: Transport> Invites<'_, S, T> {
    /// The registration link and its token, while the invite can be redeemed.
    pub(crate) fn link(&self, invite: &Invite) -> Result<Option<(String, String)>, Problem> {
        if invite.status(self.app.now()) != InviteStatus::Pending {
            return Ok(None);
        }
        let token = self
            .app
            .keys
            .sign(&Claims {
                purpose: Purpose::Invite,
                record_id: invite.id.to_string(),
                partner_id: Some(invite.partner_id.clone()),
                organization_id: None,
                subject: None,
                role: None,
                issued_at: invite.issued_at,
                expires_at: invite.expires_at,
                generation: invite.generation,
            })
            .map_err(|e| {
                Problem::new(
                    ProblemKind::Internal,
                    format!("cannot sign the invite link: {e}"),
                )
            })?;
        Ok(Some((
            self.app.public_link(&format!("/invite/{token}")),
            token,
        )))
    }

    fn view(&self, invite: &Invite) -> Result<InviteView, Problem> {
        Ok(InviteView::new(invite, self.app.now(), self.link(invite)?))
    }

    /// The webhook `data` of an invite event: the invite without its history.
    pub(crate) fn event_data(&self, invite: &Invite) -> Result<serde_json::Value, Problem> {
        let mut view = InviteView::new(invite, self.app.now(), None);
        view.history.clear();
        serde_json::to_value(view).map_err(|e| Problem::new(ProblemKind::Internal, e.to_string()))
    }

    /// One of the partner's invites by id, with any unfinished commit
    /// finished; another partner's id is simply not found.
    pub(crate) async fn load(&self, partner: &str, id: &str) -> Result<(String, Invite), Problem> {
        let not_found = || Problem::not_found("invite");
        let id = InviteId::parse(id).ok_or_else(not_found)?;
        let key = keys::invite(partner, id.slot());
        let invite = self
            .app
            .records()
            .get::<Invite>(&key)
            .await?
            .filter(|i| i.id == id)
            .ok_or_else(not_found)?;
        let invite = self.settle(&key, invite, None, None).await?;
        Ok((key, invite))
    }

    /// `POST /api/invites/generate`.
    ///
    /// With an `Idempotency-Key`, a retried request answers with the invite
    /// the first one created; the same key with another body is a 409. Which
    /// request is first is decided by an atomic increment on the key's claim
    /// counter; the winner records what it will create before creating it.
    pub async fn create(
        &self,
        caller: &Principal,
        request: CreateInvite,
        idempotency: Option<IdempotencyKey>,
    ) -> Result<InviteView, Problem> {
        let partner = caller.partner_id()?;
        if let Some(key) = &idempotency
            && let Some(view) = self.replay(partner, key).await?
        {
            return Ok(view);
        }
        let app = self.app;
        let profile = app.partners().profile(partner).await?;
        let valid = request.validate(&profile)?;

        let records = app.records();
        let invites = keys::invites(partner);
        let n = invites.take(records, 1).await?.first;
        if let Some(key) = &idempotency
            && records
                .claim(&keys::idempotency_claim(partner, &key.hash))
                .await?
                > 1
        {
            // Another request holds the key; slot n stays empty.
            return self.replay(partner, key).await?.ok_or_else(in_progress);
        }
        let stamp = app.stamp(caller.actor());
        let now = stamp.at;
        let mut invite = Invite {
            id: InviteId::new(n, app.random.as_ref()),
            partner_id: partner.to_string(),
            connection: valid.connection,
            customer: valid.customer,
            locale: valid.locale,
            partner_reference: valid.partner_reference,
            send_email: valid.send_email,
            ttl_seconds: valid.ttl_seconds,
            generation: 0,
            issued_at: now,
            expires_at: now + valid.ttl_seconds,
            state: InviteState::Pending,
            history: vec![stamp.event(Action::Created)],
            last_email: None,
            intent: None,
        };
        let key = invites.slot(n);
        let source = Source {
            key: key.clone(),
            event: stamp.id.clone(),
        };
        let mut writes = Writes::new();
        let mut items = Vec::new();
        if invite.send_email {
            items.push(self.email(&mut writes, &invite, &profile, &source).await?);
        }
        let data = self.event_data(&invite)?;
        items.extend(
            app.outbox()
                .event(
                    &mut writes,
                    &profile,
                    EventType::InviteCreated,
                    data,
                    source,
                    Vec::new(),
                )
                .await?,
        );
        note_prepared(&mut invite, &items);
        app.outbox().watch(&mut writes, &items).await?;
        records.put_all(writes).await?;
        if let Some(idempotency) = &idempotency {
            // The claim's winner records the whole creation before the
            // invite: a retry that finds the record but not the invite makes
            // the same one.
            let record = IdempotencyRecord {
                fingerprint: idempotency.fingerprint.clone(),
                invite: invite.clone(),
                items: items.clone(),
            };
            records
                .put(&keys::idempotency(partner, &idempotency.hash), &record)
                .await?;
        }
        records.put(&key, &invite).await?;
        let invite = self
            .settle(&key, invite, Some(items), Some(&profile))
            .await?;
        self.view(&invite)
    }

    /// Makes the invite an `Idempotency-Key`'s record holds, as recorded: its
    /// items (nobody can have delivered them while the invite is missing),
    /// then the invite, the commit that releases them.
    async fn create_recorded(
        &self,
        partner: &str,
        record: IdempotencyRecord,
    ) -> Result<Invite, Problem> {
        let records = self.app.records();
        let mut writes = Writes::new();
        for item in &record.items {
            item.stage(records, &mut writes)?;
        }
        self.app.outbox().watch(&mut writes, &record.items).await?;
        records.put_all(writes).await?;
        let key = keys::invite(partner, record.invite.id.slot());
        records.put(&key, &record.invite).await?;
        self.settle(&key, record.invite, Some(record.items), None)
            .await
    }

    async fn replay(
        &self,
        partner: &str,
        key: &IdempotencyKey,
    ) -> Result<Option<InviteView>, Problem> {
        let Some(record) = self
            .app
            .records()
            .get::<IdempotencyRecord>(&keys::idempotency(partner, &key.hash))
            .await?
        else {
            return Ok(None);
        };
        if record.fingerprint != key.fingerprint {
            return Err(Problem::new(
                ProblemKind::IdempotencyKeyReused,
                "this Idempotency-Key was used with a different request body",
            ));
        }
        match self.load(partner, record.invite.id.as_str()).await {
            Ok((_, invite)) => self.view(&invite).map(Some),
            // Recorded, not yet created (the first request may have been cut
            // short): make it, exactly as recorded.
            Err(p) if p.kind == ProblemKind::NotFound => {
                let invite = self.create_recorded(partner, record).await?;
                self.view(&invite).map(Some)
            }
            Err(p) => Err(p),
        }
    }

    /// Stages the invite email with the invite's current link.
    async fn email(
        &self,
        writes: &mut Writes,
        invite: &Invite,
        profile: &PartnerProfile,
        source: &Source,
    ) -> Result<Prepared, Problem> {
        let (link, _) = self
            .link(invite)?
            .ok_or_else(|| Problem::new(ProblemKind::Internal, "an invite to email has no link"))?;
        let contact = &invite.customer.contact;
        let first_contact = match invite.connection.first_contact() {
            FirstContact::Partner => profile.display_name.as_str(),
            FirstContact::Vendor => self.app.config.vendor_name.as_str(),
        };
        let Message {
            subject,
            text,
            html,
        } = email::invitation(&Invitation {
            language: Language::choose(invite.locale.as_deref(), None),
            first_name: &contact.first_name,
            last_name: &contact.last_name,
            partner: &profile.display_name,
            company: &invite.customer.company.name,
            vendor: &self.app.config.vendor_name,
            connection: invite.connection,
            first_contact,
            link: &link,
            expires_at: invite.expires_at,
        });
        self.app
            .outbox()
            .email(writes, &contact.email, subject, text, html, source.clone())
            .await
    }

    /// Carries out what the invite's intent still owes (the relationship a
    /// redemption creates, the deliveries) and clears it; answers the invite
    /// as stored. `items` are the prepared items when the caller made them,
    /// else they are read from their keys.
    pub(crate) async fn settle(
        &self,
        key: &str,
        invite: Invite,
        items: Option<Vec<Prepared>>,
        profile: Option<&PartnerProfile>,
    ) -> Result<Invite, Problem> {
        let Some(intent) = invite.intent.clone() else {
            return Ok(invite);
        };
        let app = self.app;
        let mut adopted = None;
        // The list entries (and a new organization) go in one write with the
        // deliveries' outcomes.
        let mut writes = Writes::new();
        if let Some(connect) = &intent.connect {
            adopted = app.relationships().connect(connect, &mut writes).await?;
        }
        let emails = match items {
            Some(items) => app.outbox().deliver_with(items, profile, writes).await?,
            None => {
                app.outbox()
                    .deliver_keys_with(&intent.deliver, writes)
                    .await?
            }
        };
        let id = invite.id.clone();
        let settled = app
            .records()
            .update(key, |current: Option<Invite>| {
                let mut i = current
                    .filter(|i| i.id == id)
                    .ok_or_else(|| Problem::not_found("invite"))?;
                if i.intent.is_none() {
                    return Ok(Edit::Keep(i));
                }
                if Intent::discharge(&mut i.intent, &intent)
                    && let (
                        Some(existing),
                        InviteState::Accepted {
                            relationship_id, ..
                        },
                    ) = (&adopted, &mut i.state)
                {
                    // The pair was connected by another commit meanwhile: this
                    // invite joined that relationship.
                    *relationship_id = existing.clone();
                }
                note_outcome(&mut i.last_email, &emails);
                Ok(Edit::Write(i.clone(), i))
            })
            .await?;
        Ok(settled)
    }

    /// Notes a redelivered email in the invite it was sent for, if it is
    /// still that invite's last one (so the invite shows it as sent).
    pub(crate) async fn note_email(&self, email: &Email) -> Result<(), Problem> {
        let Some(keys::Commit::Invite { partner, slot }) =
            email.source.as_ref().and_then(|s| keys::commit(&s.key))
        else {
            return Ok(());
        };
        self.app
            .records()
            .update(&keys::invite(&partner, slot), |current: Option<Invite>| {
                Ok(match current {
                    Some(mut i) if i.last_email.as_ref().is_some_and(|l| l.id == email.id) => {
                        note_outcome(&mut i.last_email, std::slice::from_ref(email));
                        Edit::Write(i, ())
                    }
                    _ => Edit::Keep(()),
                })
            })
            .await
    }

    /// Finishes the invite at `slot` if a commit left it unfinished.
    pub(crate) async fn finish(&self, partner: &str, slot: u64) -> Result<Option<Invite>, Problem> {
        let key = keys::invite(partner, slot);
        let Some(invite) = self.app.records().get::<Invite>(&key).await? else {
            return Ok(None);
        };
        self.settle(&key, invite, None, None).await.map(Some)
    }

    /// `GET /api/invites/:id`.
    pub async fn get(&self, caller: &Principal, id: &str) -> Result<InviteView, Problem> {
        let (_, invite) = self.load(caller.partner_id()?, id).await?;
        self.view(&invite)
    }

    /// `GET /api/invites?status=&limit=&cursor=`: summaries, newest first.
    pub async fn list(
        &self,
        caller: &Principal,
        status: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<InviteSummary>, Problem> {
        let partner = caller.partner_id()?;
        let status = match status {
            None => None,
            Some(s) => Some(InviteStatus::parse(s).ok_or_else(|| {
                Problem::new(
                    ProblemKind::Malformed,
                    "status must be pending, accepted, expired or revoked",
                )
            })?),
        };
        let now = self.app.now();
        let invites = keys::invites(partner);
        let (items, next_cursor) = invites
            .page(
                self.app.records(),
                page,
                |i: &InviteHead| status.is_none_or(|s| i.status(now) == s),
                async |_: &str| Ok::<bool, Problem>(true),
            )
            .await?;
        let mut views = Vec::with_capacity(items.len());
        for head in items {
            let summary = if head.unfinished() {
                // A commit cut short: finish it now (rare; costs round trips only then).
                let (_, invite) = self.load(partner, head.id.as_str()).await?;
                InviteSummary::new(&InviteHead::of(&invite), now)
            } else {
                InviteSummary::new(&head, now)
            };
            views.push(summary);
        }
        Ok(Page {
            items: views,
            next_cursor,
        })
    }

    /// `POST /api/invites/:id/resend`: a fresh link and expiry; earlier links die.
    pub async fn resend(&self, caller: &Principal, id: &str) -> Result<InviteView, Problem> {
        let invite = self
            .transition(
                caller,
                id,
                Invite::resend,
                async |invite, profile, source, writes| {
                    if !invite.send_email {
                        return Ok(Vec::new());
                    }
                    Ok(vec![self.email(writes, invite, profile, source).await?])
                },
            )
            .await?;
        self.view(&invite)
    }

    /// `POST /api/invites/:id/revoke`: pending invites only; the link stops working.
    pub async fn revoke(&self, caller: &Principal, id: &str) -> Result<InviteView, Problem> {
        let invite = self
            .transition(
                caller,
                id,
                Invite::revoke,
                async |invite, profile, source, writes| {
                    let data = self.event_data(invite)?;
                    let event = self
                        .app
                        .outbox()
                        .event(
                            writes,
                            profile,
                            EventType::InviteRevoked,
                            data,
                            source.clone(),
                            Vec::new(),
                        )
                        .await?;
                    Ok(event.into_iter().collect())
                },
            )
            .await?;
        self.view(&invite)
    }

    /// A partner's change to one of its invites: `apply` checks and makes
    /// it; `prepare` stages the outbox items it owes, against the changed
    /// invite. Nothing is written when `apply` refuses the invite as read.
    async fn transition(
        &self,
        caller: &Principal,
        id: &str,
        apply: fn(&mut Invite, &Stamp) -> Result<(), Problem>,
        prepare: impl AsyncFn(
            &Invite,
            &PartnerProfile,
            &Source,
            &mut Writes,
        ) -> Result<Vec<Prepared>, Problem>,
    ) -> Result<Invite, Problem> {
        let partner = caller.partner_id()?;
        let app = self.app;
        let records = app.records();
        let (key, mut read) = self.load(partner, id).await?;
        let profile = app.partners().profile(partner).await?;
        for _ in 0..3 {
            let stamp = app.stamp(caller.actor());
            let mut changed = read.clone();
            apply(&mut changed, &stamp)?;
            let source = Source {
                key: key.clone(),
                event: stamp.id.clone(),
            };
            let mut writes = Writes::new();
            let items = prepare(&changed, &profile, &source, &mut writes).await?;
            app.outbox().watch(&mut writes, &items).await?;
            records.put_all(writes).await?;
            let seen = read.history.len();
            let swapped = records
                .commit(
                    &key,
                    &stamp.id,
                    |current: Option<Invite>| {
                        let mut i = current
                            .filter(|i| i.id == read.id)
                            .ok_or_else(|| Problem::not_found("invite"))?;
                        if i.history.len() != seen {
                            return Ok(Edit::Keep(Swap::Stale(Box::new(i))));
                        }
                        apply(&mut i, &stamp)?;
                        note_prepared(&mut i, &items);
                        Ok(Edit::Write(i.clone(), Swap::Done(Box::new(i))))
                    },
                    |made| Swap::Done(Box::new(made)),
                )
                .await;
            match swapped {
                Ok(Swap::Done(invite)) => {
                    return self
                        .settle(&key, *invite, Some(items), Some(&profile))
                        .await;
                }
                Ok(Swap::Stale(current)) => {
                    app.outbox().abandon(&items).await?;
                    read = *current;
                }
                Err(problem) => {
                    app.outbox().abandon(&items).await?;
                    return Err(problem);
                }
            }
        }
        Err(Problem::new(
            ProblemKind::TooManyRequests,
            "this invite is changing too often right now; retry shortly",
        ))
    }
}

/// The answer while another request holds an `Idempotency-Key` it has not
/// yet recorded.
fn in_progress() -> Problem {
    Problem::new(
        ProblemKind::InvalidState,
        "a request with this Idempotency-Key is in progress; retry shortly",
    )
}

/// What the request that claimed an `Idempotency-Key` creates, recorded
/// before it creates it: the invite and its outbox items, so that a retry of
/// a request cut short makes the same ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct IdempotencyRecord {
    /// SHA-256 of the request body: a reused key with another body is refused.
    fingerprint: String,
    /// The invite, as its first write.
    invite: Invite,
    /// Its outbox items, queued.
    items: Vec<Prepared>,
}

/// Records prepared items in the invite: their keys in its intent (added to
/// any it still has), and the invite email as its last one, queued.
pub(crate) fn note_prepared(invite: &mut Invite, items: &[Prepared]) {
    if items.is_empty() {
        return;
    }
    let intent = invite.intent.get_or_insert_with(Intent::default);
    intent.deliver.extend(keys_of(items));
    for item in items {
        if let Prepared::Email(_, email) = item {
            invite.last_email = Some(email.without_body());
        }
    }
}

/// Notes what became of the invite's last email, if it was among `emails`.
fn note_outcome(last: &mut Option<Email>, emails: &[Email]) {
    if let Some(last) = last
        && let Some(sent) = emails.iter().find(|e| e.id == last.id)
    {
        *last = sent.without_body();
    }
}
