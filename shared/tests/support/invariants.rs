//! What must hold of the whole store once every operation has finished or
//! been finished by a later request: written down once, checked after every
//! injected fault (`tests/faults.rs`) and after the flow tests that want it.

use std::collections::{BTreeMap, BTreeSet};

use partner_invites::domain::{
    Action, Audience, ConnectionRequest, Deliverable, DeliveryState, Due, Email, EmailStatus,
    EventType, Invite, InviteState, Ledger, Locator, Organization, PartnerProfile, Relationship,
    RequestState, Via, WebhookDelivery,
};
use partner_invites::store::record::decode;
use partner_invites::store::{Journal, Slot};

/// Every record in a store snapshot, by kind.
#[derive(Debug, Default)]
pub struct Contents {
    pub invites: BTreeMap<String, Invite>,
    pub requests: BTreeMap<String, ConnectionRequest>,
    pub organizations: BTreeMap<String, Organization>,
    pub ledgers: BTreeMap<String, Ledger>,
    pub profiles: BTreeMap<String, PartnerProfile>,
    /// `rel/<id>` -> the relationship as it stands.
    pub relationships: BTreeMap<String, Relationship>,
    /// `(partner, slot) -> entry` of the partners' customer lists.
    pub customers: BTreeMap<(String, u64), Slot<Relationship>>,
    /// `(organization, slot) -> entry` of the organizations' partner lists.
    pub partners: BTreeMap<(String, u64), Slot<Relationship>>,
    pub deliveries: BTreeMap<String, Slot<WebhookDelivery>>,
    /// The organizations' lists of their requests: `(organization, slot) -> locator`.
    pub org_requests: BTreeMap<(String, u64), Locator>,
    /// Whether the app had a platform endpoint (set by the test).
    pub platform: bool,
    pub emails: BTreeMap<String, Slot<Email>>,
    /// The redelivery index: `(minute, slot) -> entry`.
    pub due: BTreeMap<(u64, u64), Due>,
    /// Sequence prefix (`p/p1/inv`) -> counter.
    pub counters: BTreeMap<String, u64>,
    /// Sequence prefix -> slots that exist.
    pub slots: BTreeMap<String, BTreeSet<u64>>,
    /// Keys this reader does not know: none should exist.
    pub unknown: Vec<String>,
}

fn counter(bytes: &[u8]) -> u64 {
    bytes
        .try_into()
        .map(i64::from_le_bytes)
        .map(|v| v.max(0) as u64)
        .unwrap_or(u64::MAX)
}

/// Reads every key of a snapshot, panicking on anything that does not decode.
pub fn contents(snapshot: &BTreeMap<String, Vec<u8>>) -> Contents {
    let mut c = Contents::default();
    for (key, value) in snapshot {
        let parts: Vec<&str> = key.split('/').collect();
        let slot = |s: &str| s.parse::<u64>().ok();
        let seq_of = |prefix: String, n: u64, c: &mut Contents| {
            c.slots.entry(prefix).or_default().insert(n);
        };
        macro_rules! read {
            ($t:ty) => {
                decode::<$t>(key, Some(value)).unwrap_or_else(|e| panic!("{key}: {e}"))
            };
        }
        match parts.as_slice() {
            [.., "seq"] => {
                c.counters
                    .insert(parts[..parts.len() - 1].join("/"), counter(value));
            }
            ["p", p, "profile"] => {
                if let Slot::Record(profile) = read!(PartnerProfile) {
                    c.profiles.insert(p.to_string(), profile);
                }
            }
            ["con-loc", _] => {}
            ["rel", _] => {
                if let Slot::Record(r) = read!(Relationship) {
                    c.relationships.insert(key.clone(), r);
                }
            }
            ["p", _, "idem", _] | ["p", _, "idem", _, "rec"] => {}
            ["p", p, "inv", n] if slot(n).is_some() => {
                seq_of(format!("p/{p}/inv"), slot(n).unwrap_or(0), &mut c);
                if let Slot::Record(i) = read!(Invite) {
                    c.invites.insert(key.clone(), i);
                }
            }
            ["p", p, "con", n] if slot(n).is_some() => {
                seq_of(format!("p/{p}/con"), slot(n).unwrap_or(0), &mut c);
                if let Slot::Record(r) = read!(ConnectionRequest) {
                    c.requests.insert(key.clone(), r);
                }
            }
            ["p", p, "cust", n] if slot(n).is_some() => {
                let n = slot(n).unwrap_or(0);
                seq_of(format!("p/{p}/cust"), n, &mut c);
                c.customers.insert((p.to_string(), n), read!(Relationship));
            }
            ["platform", "msg", n] if slot(n).is_some() => {
                seq_of("platform/msg".into(), slot(n).unwrap_or(0), &mut c);
                c.deliveries.insert(key.clone(), read!(WebhookDelivery));
            }
            ["o", o, "con", n] if slot(n).is_some() => {
                let n = slot(n).unwrap_or(0);
                seq_of(format!("o/{o}/con"), n, &mut c);
                if let Slot::Record(l) = read!(Locator) {
                    c.org_requests.insert((o.to_string(), n), l);
                }
            }
            ["p", p, "msg", n] if slot(n).is_some() => {
                seq_of(format!("p/{p}/msg"), slot(n).unwrap_or(0), &mut c);
                c.deliveries.insert(key.clone(), read!(WebhookDelivery));
            }
            ["outbox", n] if slot(n).is_some() => {
                seq_of("outbox".into(), slot(n).unwrap_or(0), &mut c);
                c.emails.insert(key.clone(), read!(Email));
            }
            ["due", "cursor"] => {}
            ["due", m, n] if slot(m).is_some() && slot(n).is_some() => {
                let (m, n) = (slot(m).unwrap_or(0), slot(n).unwrap_or(0));
                seq_of(format!("due/{m}"), n, &mut c);
                if let Slot::Record(d) = read!(Due) {
                    c.due.insert((m, n), d);
                }
            }
            ["o", o] => {
                if let Slot::Record(org) = read!(Organization) {
                    c.organizations.insert(o.to_string(), org);
                }
            }
            ["o", o, "ptn", "ledger"] => {
                if let Slot::Record(l) = read!(Ledger) {
                    c.ledgers.insert(o.to_string(), l);
                }
            }
            ["o", o, "ptn", n] if slot(n).is_some() => {
                let n = slot(n).unwrap_or(0);
                seq_of(format!("o/{o}/ptn"), n, &mut c);
                c.partners.insert((o.to_string(), n), read!(Relationship));
            }
            _ => c.unknown.push(key.clone()),
        }
    }
    c
}

/// Checks every invariant; the answer lists each violation (empty: all hold).
/// `before` holds the counters as they were before the operation under test:
/// a slot it took and could not write is the only kind of missing slot allowed.
pub fn violations(c: &Contents, before: &BTreeMap<String, u64>) -> Vec<String> {
    let mut v = Vec::new();
    for key in &c.unknown {
        v.push(format!("unknown key {key}"));
    }

    // 1. Nothing is left unfinished: no intent, no placeholder of a commit.
    for (key, i) in &c.invites {
        if i.intent.is_some() {
            v.push(format!("{key}: intent left unfinished: {:?}", i.intent));
        }
    }
    for (key, r) in &c.relationships {
        if r.intent.is_some() {
            v.push(format!("{key}: intent left unfinished: {:?}", r.intent));
        }
    }
    for (key, r) in &c.requests {
        if request_committed(c, r) && (r.intent.is_some() || r.state == RequestState::Proposed) {
            v.push(format!(
                "{key}: committed, left unfinished: {:?} {:?}",
                r.state, r.intent
            ));
        }
    }
    let placeholders = c
        .customers
        .iter()
        .map(|((p, n), s)| (format!("p/{p}/cust/{n}"), s))
        .chain(
            c.partners
                .iter()
                .map(|((o, n), s)| (format!("o/{o}/ptn/{n}"), s)),
        );
    for (slot, s) in placeholders.clone() {
        if let Slot::Pending(commit) = s
            && commit.starts_with("rel/")
        {
            v.push(format!(
                "{slot}: placeholder of {commit}'s transition never filled"
            ));
        }
        // A listed relationship is its record as it stands.
        if let Slot::Record(listed) = s
            && let Some(r) = c.relationships.get(&format!("rel/{}", listed.id))
            && r.intent.is_none()
            && (listed.status, listed.connection, &listed.pending_change)
                != (r.status, r.connection, &r.pending_change)
        {
            v.push(format!("{slot}: lists {} unlike its record", listed.id));
        }
    }
    for (slot, s) in placeholders {
        if let Slot::Pending(commit) = s {
            let committed = c
                .invites
                .get(commit)
                .is_some_and(|i| matches!(i.state, InviteState::Accepted { .. }))
                || c.requests
                    .get(commit)
                    .is_some_and(|r| matches!(r.state, RequestState::Approved { .. }));
            if committed {
                v.push(format!(
                    "{slot}: placeholder of {commit}, which committed, never filled"
                ));
            }
        }
    }

    // 2. Every relationship a commit created exists: its organization (with a
    // ledger naming it) and exactly one entry on each side.
    let mut expected: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (key, i) in &c.invites {
        if let InviteState::Accepted {
            organization_id,
            relationship_id,
            ..
        } = &i.state
        {
            expected.insert(
                relationship_id.to_string(),
                (key.clone(), organization_id.to_string()),
            );
        }
    }
    for (key, r) in &c.requests {
        if let RequestState::Approved { relationship_id } = &r.state
            && r.change.is_none()
        {
            expected.insert(
                relationship_id.to_string(),
                (key.clone(), r.organization_id.to_string()),
            );
        }
    }
    let listed = |side: &BTreeMap<(String, u64), Slot<Relationship>>| {
        let mut by_id: BTreeMap<String, Vec<Relationship>> = BTreeMap::new();
        for s in side.values() {
            if let Slot::Record(r) = s {
                by_id.entry(r.id.to_string()).or_default().push(r.clone());
            }
        }
        by_id
    };
    let customers = listed(&c.customers);
    let partners = listed(&c.partners);
    for (rel, (source, org)) in &expected {
        let source_partner = source.split('/').nth(1).unwrap_or_default();
        if !c.organizations.contains_key(org) {
            v.push(format!(
                "{source}: organization {org} of {rel} does not exist"
            ));
        }
        let record = c.relationships.get(&format!("rel/{rel}"));
        match record {
            None => v.push(format!("{source}: {rel} has no record")),
            Some(r) if r.partner_id != source_partner || r.organization_id.as_str() != org => {
                v.push(format!("{source}: the record of {rel} names another pair"))
            }
            Some(_) => {}
        }
        let active = record.is_none_or(|r| r.is_active());
        match c.ledgers.get(org) {
            None => v.push(format!("{source}: organization {org} has no ledger")),
            Some(l) => {
                let named =
                    l.relationship(source_partner).map(|r| r.as_str()) == Some(rel.as_str());
                if active && !named {
                    v.push(format!(
                        "{source}: ledger of {org} has {:?} for {source_partner}, not {rel}",
                        l.relationship(source_partner)
                    ));
                }
                if !active && named {
                    v.push(format!(
                        "{source}: ledger of {org} still names {rel}, which ended"
                    ));
                }
            }
        }
        for (side, lists) in [("customers", &customers), ("partners", &partners)] {
            let n = lists.get(rel).map_or(0, Vec::len);
            if n != 1 {
                v.push(format!("{source}: {rel} is listed {n} times in {side}"));
            }
        }
    }
    for (side, lists) in [("customers", &customers), ("partners", &partners)] {
        for (rel, entries) in lists {
            match expected.get(rel) {
                None => v.push(format!("{side} lists {rel}, which no commit created")),
                Some((source, _)) => {
                    let via_matches = entries.iter().all(|r| match &r.via {
                        Via::Invite { id } => c.invites.get(source).is_some_and(|i| i.id == *id),
                        Via::ConnectionRequest { id } => {
                            c.requests.get(source).is_some_and(|q| q.id == *id)
                        }
                    });
                    if !via_matches {
                        v.push(format!("{side}: {rel} names another source than {source}"));
                    }
                }
            }
        }
    }
    for (org, l) in &c.ledgers {
        for (partner, entry) in &l.partners {
            if let Some(rel) = &entry.relationship
                && !expected.contains_key(rel.as_str())
            {
                v.push(format!(
                    "ledger of {org}: {partner} -> {rel}, which no commit created"
                ));
            }
        }
    }

    // 3. One open request per pair, and the ledger knows it.
    for (key, r) in &c.requests {
        if let (RequestState::Pending, Some(change)) = (&r.state, &r.change) {
            let waiting = c
                .relationships
                .get(&format!("rel/{}", change.relationship_id))
                .and_then(|rel| rel.pending_change.as_ref())
                .is_some_and(|p| p.request_id == r.id);
            if !waiting {
                v.push(format!(
                    "{key}: pending, but not its relationship's pending change"
                ));
            }
        } else if r.state == RequestState::Pending {
            let open = c
                .ledgers
                .get(r.organization_id.as_str())
                .and_then(|l| l.partners.get(&r.partner_id))
                .and_then(|e| e.open_request.as_ref());
            let connected = c
                .ledgers
                .get(r.organization_id.as_str())
                .and_then(|l| l.relationship(&r.partner_id))
                .is_some();
            if !connected && open.is_none_or(|o| o.id != r.id) {
                v.push(format!(
                    "{key}: pending, but the ledger's open request is {open:?}"
                ));
            }
        }
    }

    // 4. Every committed event is in the outbox, and was delivered.
    let mut sources: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (key, e) in &c.emails {
        if let Slot::Record(e) = e
            && let Some(s) = &e.source
        {
            sources
                .entry((s.key.clone(), s.event.clone()))
                .or_default()
                .push(key.clone());
            let committed = event_committed(c, &s.key, &s.event);
            if committed && e.status == EmailStatus::Queued {
                v.push(format!("{key}: email of a committed event never delivered"));
            }
            if !committed && e.status != EmailStatus::Queued {
                v.push(format!(
                    "{key}: email of an event that never committed was sent"
                ));
            }
        }
    }
    for (key, d) in &c.deliveries {
        if let Slot::Record(d) = d
            && let Some(s) = &d.source
        {
            sources
                .entry((s.key.clone(), s.event.clone()))
                .or_default()
                .push(key.clone());
            let committed = event_committed(c, &s.key, &s.event);
            if committed && d.queued() {
                v.push(format!(
                    "{key}: delivery of a committed event never attempted"
                ));
            }
            if !committed && !d.queued() {
                v.push(format!(
                    "{key}: delivery of an event that never committed was sent"
                ));
            }
        }
    }
    // What each committed event owes: an email, a partner delivery, and the
    // platform's deliveries (the partner's event, and its own feed).
    let kinds = |key: &str, event: &str| -> (usize, usize, Vec<EventType>) {
        let (mut emails, mut partner, mut platform) = (0, 0, Vec::new());
        for k in sources
            .get(&(key.to_string(), event.to_string()))
            .into_iter()
            .flatten()
        {
            if k.starts_with("outbox/") {
                emails += 1;
            } else if let Some(Slot::Record(d)) = c.deliveries.get(k) {
                match d.audience {
                    Audience::Partner => partner += 1,
                    Audience::Platform => platform.push(d.event),
                }
            }
        }
        (emails, partner, platform)
    };
    let webhook = |partner: &str| c.profiles.get(partner).is_some_and(|p| p.webhook.is_some());
    let mut owes = |key: &str,
                    e: &partner_invites::domain::AuditEvent,
                    partner_id: &str,
                    email: bool,
                    event: Option<EventType>,
                    feed: &[EventType]| {
        let (emails, partner, platform) = kinds(key, &e.id);
        let mut wanted_platform: Vec<EventType> = Vec::new();
        if c.platform {
            wanted_platform.extend(event);
            wanted_platform.extend(feed);
        }
        let want_partner = usize::from(event.is_some() && webhook(partner_id));
        if emails < usize::from(email)
            || partner < want_partner
            || wanted_platform.iter().any(|w| !platform.contains(w))
        {
            v.push(format!(
                "{key}: {:?} event {} has {emails} emails, {partner} partner and {platform:?} platform deliveries; wants {}, {want_partner} and {wanted_platform:?}",
                e.action,
                e.id,
                usize::from(email)
            ));
        }
    };
    for (key, i) in &c.invites {
        for e in &i.history {
            let new_org = matches!(
                i.state,
                InviteState::Accepted {
                    existing_organization: false,
                    ..
                }
            );
            match e.action {
                Action::Created => owes(
                    key,
                    e,
                    &i.partner_id,
                    i.send_email,
                    Some(EventType::InviteCreated),
                    &[],
                ),
                Action::Resent => owes(key, e, &i.partner_id, i.send_email, None, &[]),
                Action::Revoked => owes(
                    key,
                    e,
                    &i.partner_id,
                    false,
                    Some(EventType::InviteRevoked),
                    &[],
                ),
                Action::Accepted if new_org => owes(
                    key,
                    e,
                    &i.partner_id,
                    false,
                    Some(EventType::InviteAccepted),
                    &[
                        EventType::OrganizationRegistered,
                        EventType::RelationshipCreated,
                    ],
                ),
                Action::Accepted => owes(
                    key,
                    e,
                    &i.partner_id,
                    false,
                    Some(EventType::InviteAccepted),
                    &[EventType::RelationshipCreated],
                ),
                _ => {}
            }
        }
    }
    for (key, r) in &c.relationships {
        for line in &r.history {
            let e = &line.event;
            let event = match e.action {
                Action::Changed => EventType::RelationshipChanged,
                Action::Ended => EventType::RelationshipEnded,
                Action::Declined => EventType::ConnectionDeclined,
                _ => continue,
            };
            owes(key, e, &r.partner_id, false, Some(event), &[]);
        }
    }
    for (key, r) in &c.requests {
        if !request_committed(c, r) {
            continue;
        }
        for e in &r.history {
            if r.change.is_some() && e.action != Action::Created {
                // Decided on the relationship, whose history owes its events.
                continue;
            }
            match e.action {
                Action::Created => owes(
                    key,
                    e,
                    &r.partner_id,
                    true,
                    Some(EventType::ConnectionRequested),
                    &[],
                ),
                Action::Approved => owes(
                    key,
                    e,
                    &r.partner_id,
                    false,
                    Some(EventType::ConnectionApproved),
                    &[EventType::RelationshipCreated],
                ),
                Action::Declined => owes(
                    key,
                    e,
                    &r.partner_id,
                    false,
                    Some(EventType::ConnectionDeclined),
                    &[],
                ),
                _ => {}
            }
        }
    }
    // Every opened request is in its organization's list, once.
    for (key, r) in &c.requests {
        if !r.opened() {
            continue;
        }
        let listed = c
            .org_requests
            .iter()
            .filter(|((o, _), l)| {
                *o == r.organization_id.as_str() && l.request_id.as_ref() == Some(&r.id)
            })
            .count();
        if listed != 1 {
            v.push(format!(
                "{key}: listed {listed} times in its organization's requests"
            ));
        }
    }

    // 5. Nothing that must be tried again is forgotten: every item with an
    // attempt to come is named by an index entry that falls due no later.
    let retrying = c
        .emails
        .iter()
        .filter_map(|(k, s)| match s {
            Slot::Record(e) => Some((k, e.state(), e.next_attempt_at())),
            _ => None,
        })
        .chain(c.deliveries.iter().filter_map(|(k, s)| match s {
            Slot::Record(d) => Some((k, d.state(), d.next_attempt_at())),
            _ => None,
        }));
    for (key, state, next) in retrying {
        let Some(next) = next.filter(|_| state == DeliveryState::Retrying) else {
            continue;
        };
        let indexed = c
            .due
            .iter()
            .any(|((m, _), d)| *m <= next / 60 && d.at <= next && d.keys.contains(key));
        if !indexed {
            v.push(format!(
                "{key}: retrying at {next}, and no index entry names it"
            ));
        }
    }

    // 6. Counters never point past what was written, and no slot that
    // existed before the operation is missing.
    for (prefix, slots) in &c.slots {
        let top = c.counters.get(prefix).copied().unwrap_or(0);
        if let Some(max) = slots.iter().max()
            && *max > top
        {
            v.push(format!("{prefix}: slot {max} above its counter {top}"));
        }
    }
    // (The redelivery index's entries are deleted once spent: rule 5 says
    // what they must still name.)
    for (prefix, top) in c.counters.iter().filter(|(p, _)| !p.starts_with("due/")) {
        let old = before.get(prefix).copied().unwrap_or(0);
        let slots = c.slots.get(prefix).cloned().unwrap_or_default();
        for n in 1..=old.min(*top) {
            if !slots.contains(&n) {
                v.push(format!(
                    "{prefix}/{n}: existed before the operation and is missing"
                ));
            }
        }
    }
    v
}

/// Whether the history of the record at `key` holds the event `event`.
fn event_committed(c: &Contents, key: &str, event: &str) -> bool {
    if let Some(r) = c.relationships.get(key) {
        return r.recorded(event);
    }
    c.invites
        .get(key)
        .map(|i| i.recorded(event))
        .or_else(|| {
            c.requests
                .get(key)
                .map(|r| request_committed(c, r) && r.recorded(event))
        })
        .unwrap_or(false)
}

/// Whether a request was opened, or entered in its ledger (its commit).
fn request_committed(c: &Contents, r: &ConnectionRequest) -> bool {
    if let Some(change) = &r.change {
        let asked = c
            .relationships
            .get(&format!("rel/{}", change.relationship_id))
            .is_some_and(|rel| rel.names(&r.id));
        return r.opened() || (r.state == RequestState::Proposed && asked);
    }
    r.opened()
        || (r.state == RequestState::Proposed
            && c.ledgers
                .get(r.organization_id.as_str())
                .and_then(|l| l.partners.get(&r.partner_id))
                .and_then(|e| e.open_request.as_ref())
                .is_some_and(|o| o.id == r.id))
}
