//! Redelivery: the attempts that fall due after an item's first.
//!
//! Spin has no background work, so what is due is done by requests: an
//! operator's (or a scheduler's) `POST /api/outbox/dispatch`, in bounded
//! batches, and a little after every request that wrote something
//! ([`Dispatcher::piggyback`], after its answer has been sent).
//!
//! What is due is found through the redelivery index: per minute (Unix
//! minutes), a [`Sequence`](crate::store::Sequence) of [`Due`] entries, each
//! naming outbox items to look at from a given time. An entry is written
//! before the item it schedules ([`Outbox::schedule`](super::outbox::Outbox)),
//! and with every commit's items ([`Outbox::watch`](super::outbox::Outbox)),
//! and deleted once every item it names is settled. A cursor (`due/cursor`)
//! is the first minute not yet drained; it stays [`SKEW`] minutes behind the
//! clock, so that a request writing an entry for the current minute on a
//! node whose clock is a little behind is still seen.
//!
//! Two dispatchers never make the same attempt: each takes an item with a
//! compare-and-swap that sets `claimed_until` and checks the attempt count,
//! and only the winner sends. A claim outlives its holder only if the holder
//! died; after [`CLAIM_FOR`] the item is due again (at least once).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::App;
use super::outbox::{Prepared, Profiles};
use crate::auth::Principal;
use crate::domain::{Deliverable, DeliveryState, Due, Email, WebhookDelivery};
use crate::outbound::Transport;
use crate::problem::Problem;
use crate::store::{Edit, KeyValue, Slot, keys, parse_limit};

/// How long a dispatcher holds an item it attempts (seconds): well past the
/// life of a dispatch call, which starts no attempt after
/// [`DISPATCH_SECONDS`] and gives each at most the outbound timeout, so only
/// a dead holder's claim runs out.
pub const CLAIM_FOR: u64 = 120;
/// How many minutes the cursor stays behind the clock.
pub const SKEW: u64 = 5;
/// How far back the first dispatch looks, with no cursor yet (minutes).
pub const LOOKBACK: u64 = 3 * 24 * 60;
/// At most this many minutes of the index are read by one call.
pub const MINUTES_PER_CALL: u64 = 240;
/// The most attempts one `POST /api/outbox/dispatch` makes.
pub const MAX_BATCH: usize = 500;
/// Attempts per dispatch call when none is asked for.
pub const DEFAULT_BATCH: usize = 100;
/// How long one dispatch call goes on starting attempts (seconds): an
/// endpoint that does not answer takes the whole outbound timeout for each,
/// and a call must answer (saying more is due) well before the host ends it.
pub const DISPATCH_SECONDS: u64 = 20;

/// What one dispatch did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct DispatchReport {
    /// Attempts made.
    pub attempted: usize,
    /// Of those, handed over.
    pub delivered: usize,
    /// Of those, failed with another attempt scheduled.
    pub retrying: usize,
    /// Of those, failed for good.
    pub failed: usize,
    /// Commits whose items were checked after their request may have died.
    pub rescued: usize,
    /// Whether due work is left (call again).
    pub more: bool,
}

/// The index's cursor record.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    /// The first minute not yet drained.
    minute: u64,
}

/// How much one dispatch may do.
#[derive(Debug, Clone, Copy)]
struct Budget {
    attempts: usize,
    /// No attempt starts at or after this second.
    until: u64,
    minutes: u64,
    /// The most index entries read per minute.
    entries: u64,
    /// Whether those are read from a random place in the minute rather than
    /// from its start: a piggyback's, so that the writing requests of a busy
    /// minute share its entries instead of all reading the same ones.
    sampled: bool,
    /// Whether spent entries are deleted. A piggyback leaves them to the
    /// dispatch calls: deleting one is bookkeeping, and every write after an
    /// answer costs the node a store transaction (a spent entry read again
    /// costs a read).
    tidies: bool,
}

/// The most index entries a dispatch call reads per minute.
const ENTRIES_PER_MINUTE: u64 = 10_000;
/// The index entries a piggyback reads per minute: one read.
const PIGGYBACK_ENTRIES: u64 = 16;

/// Redelivery of what is due.
pub struct Dispatcher<'a, S, T> {
    pub(crate) app: &'a App<S, T>,
}

impl<S: KeyValue, T: Transport> Dispatcher<'_, S, T> {
    /// `POST /api/outbox/dispatch` (operators): makes up to `limit` due
    /// attempts and says whether more are due.
    pub async fn dispatch(
        &self,
        caller: &Principal,
        limit: Option<&str>,
    ) -> Result<DispatchReport, Problem> {
        caller.require_operator()?;
        let attempts = parse_limit(limit, DEFAULT_BATCH, MAX_BATCH)?;
        self.run(
            Budget {
                attempts,
                until: self.app.now() + DISPATCH_SECONDS,
                minutes: MINUTES_PER_CALL,
                entries: ENTRIES_PER_MINUTE,
                sampled: false,
                tidies: true,
            },
            true,
        )
        .await
    }

    /// The little a writing request does after answering: at most one
    /// attempt, among a few entries of each of the last minutes of the index
    /// (where an item's entry is when it falls due); the rest, and older
    /// minutes, are the dispatch calls'. Bounded, so that under load every
    /// write does not read a busy minute's every entry; and it writes only
    /// for what is due (an attempt, a rescue), leaving spent entries to the
    /// dispatch calls.
    pub async fn piggyback(&self) -> Result<DispatchReport, Problem> {
        self.run(
            Budget {
                attempts: 1,
                until: self.app.now() + DISPATCH_SECONDS,
                minutes: 2 * SKEW,
                entries: PIGGYBACK_ENTRIES,
                sampled: true,
                tidies: false,
            },
            false,
        )
        .await
    }

    /// Drains the index from the cursor (`from_cursor`, moving it on) or
    /// over the last `budget.minutes` minutes.
    async fn run(&self, budget: Budget, from_cursor: bool) -> Result<DispatchReport, Problem> {
        let app = self.app;
        let records = app.records();
        let now = app.now();
        let current = now / 60;
        let start = if from_cursor {
            match records.get::<Cursor>(&keys::due_cursor()).await? {
                Some(c) => c.minute,
                None => current.saturating_sub(LOOKBACK),
            }
        } else {
            current.saturating_sub(budget.minutes.saturating_sub(1))
        };
        let end = current.min(start + budget.minutes.max(1) - 1);
        let mut report = DispatchReport {
            more: end < current,
            ..DispatchReport::default()
        };
        if start > end {
            return Ok(report);
        }
        let minutes: Vec<u64> = (start..=end).collect();
        let counters: Vec<String> = minutes.iter().map(|m| keys::due(*m).counter()).collect();
        let tops = records.counters(&counters).await?;

        // The minutes drained from `start` on, in a row, and far enough behind.
        let mut drained_to = None;
        let mut in_a_row = from_cursor;
        let mut emptied = Vec::new();
        for (&minute, &top) in minutes.iter().zip(&tops) {
            let drained = top == 0 || self.drain(minute, top, now, budget, &mut report).await?;
            in_a_row &= drained && minute + SKEW < current;
            if in_a_row {
                drained_to = Some(minute);
                if top > 0 {
                    emptied.push(keys::due(minute).counter());
                }
            }
        }
        if let Some(minute) = drained_to {
            self.advance(minute + 1).await;
            // Nobody writes behind the cursor: its counters can go.
            records.release(&emptied).await?;
        }
        Ok(report)
    }

    /// Handles the entries of `minute` that are due; answers whether none is
    /// left.
    async fn drain(
        &self,
        minute: u64,
        top: u64,
        now: u64,
        budget: Budget,
        report: &mut DispatchReport,
    ) -> Result<bool, Problem> {
        let records = self.app.records();
        let index = keys::due(minute);
        let span = budget.entries.min(top);
        let first = if budget.sampled && top > span {
            1 + self.app.random.u64() % (top - span + 1)
        } else {
            1
        };
        let slots: Vec<String> = (first..first + span).map(|n| index.slot(n)).collect();
        let mut left = span < top;
        for chunk in slots.chunks(100) {
            if self.spent(budget, report) {
                // Out of attempts: what is left is the next call's to read.
                left = true;
                report.more = true;
                break;
            }
            let entries: Vec<Slot<Due>> = records.slots(chunk).await?;
            let mut settled = Vec::new();
            for (key, entry) in chunk.iter().zip(entries) {
                let Slot::Record(due) = entry else {
                    continue;
                };
                if due.at > now {
                    left = true;
                } else if self.spent(budget, report) {
                    left = true;
                    report.more = true;
                } else if self.settle(&due, minute, now, budget, report).await? {
                    settled.push(key.clone());
                } else {
                    left = true;
                }
            }
            if budget.tidies {
                records.release(&settled).await?;
            }
        }
        Ok(!left && budget.tidies)
    }

    /// Whether the call may start no more attempts: it made as many as it
    /// may, or its time is up.
    fn spent(&self, budget: Budget, report: &DispatchReport) -> bool {
        report.attempted >= budget.attempts || self.app.now() >= budget.until
    }

    /// Does what is due for an entry's items; answers whether the entry is
    /// spent (nothing it names needs it any more).
    async fn settle(
        &self,
        due: &Due,
        minute: u64,
        now: u64,
        budget: Budget,
        report: &mut DispatchReport,
    ) -> Result<bool, Problem> {
        let app = self.app;
        let mut spent = true;
        let mut finished: Vec<String> = Vec::new();
        for (key, item) in due.keys.iter().zip(app.outbox().read(&due.keys).await?) {
            let Some(item) = item else {
                continue;
            };
            let it = item.item();
            match it.state() {
                // A commit's item not yet tried: finish the commit, which
                // delivers it if it committed (once per commit).
                DeliveryState::Queued => {
                    if let Some(source) = it.source()
                        && !finished.contains(&source.key)
                    {
                        app.finish(&source.key).await?;
                        finished.push(source.key.clone());
                        report.rescued += 1;
                    }
                }
                DeliveryState::Delivered | DeliveryState::Failed => {}
                DeliveryState::Retrying if it.due(now) => {
                    if self.spent(budget, report) {
                        report.more = true;
                        spent = false;
                        continue;
                    }
                    if !self.retry(key, item, now, report).await? {
                        spent = false;
                    }
                }
                // Rescheduled to a later minute (that minute has its own
                // entry), or not yet due in this one, or held by another.
                DeliveryState::Retrying => {
                    let later = it.next_attempt_at().is_some_and(|at| at / 60 > minute);
                    spent &= later;
                }
            }
        }
        Ok(spent)
    }

    /// Claims `item`, makes its attempt and records it; answers whether the
    /// entry is done with it (false: another dispatcher holds it).
    async fn retry(
        &self,
        key: &str,
        item: Prepared,
        now: u64,
        report: &mut DispatchReport,
    ) -> Result<bool, Problem> {
        let outbox = self.app.outbox();
        let seen = item.item().attempts().len();
        let Some(mut item) = self.claim(key, item, seen, now).await? else {
            return Ok(false);
        };
        let gone = outbox.attempt(&mut item, &mut Profiles::new(None)).await?;
        outbox.schedule(std::iter::once(&item)).await?;
        let item = self.record(item).await?;
        outbox
            .disable(&gone.into_iter().collect::<Vec<_>>())
            .await?;
        report.attempted += 1;
        match item.item().state() {
            DeliveryState::Delivered => report.delivered += 1,
            DeliveryState::Retrying => report.retrying += 1,
            DeliveryState::Failed | DeliveryState::Queued => report.failed += 1,
        }
        if let Prepared::Email(_, email) = &item {
            self.app.invites().note_email(email).await?;
        }
        Ok(true)
    }

    /// Takes the item's next attempt for this request, if it is still due
    /// after `seen` attempts and nobody holds it.
    async fn claim(
        &self,
        key: &str,
        item: Prepared,
        seen: usize,
        now: u64,
    ) -> Result<Option<Prepared>, Problem> {
        let key = key.to_string();
        Ok(match item {
            Prepared::Email(..) => claim::<_, _, Email>(self.app, &key, seen, now)
                .await?
                .map(|e| Prepared::Email(key, e)),
            Prepared::Delivery(..) => claim::<_, _, WebhookDelivery>(self.app, &key, seen, now)
                .await?
                .map(|d| Prepared::Delivery(key, d)),
        })
    }

    /// Records a claimed attempt over whatever the item now holds (an
    /// operator's retry may have added one meanwhile).
    async fn record(&self, item: Prepared) -> Result<Prepared, Problem> {
        Ok(match item {
            Prepared::Email(key, e) => {
                let saved = record(self.app, &key, &e).await?;
                Prepared::Email(key, saved)
            }
            Prepared::Delivery(key, d) => {
                let saved = record(self.app, &key, &d).await?;
                Prepared::Delivery(key, saved)
            }
        })
    }

    /// Moves the cursor to `minute`, unless it is there already. Best
    /// effort: a dispatcher that loses the race leaves it to the winner.
    async fn advance(&self, minute: u64) {
        let moved = self
            .app
            .records()
            .update(&keys::due_cursor(), |current: Option<Cursor>| {
                Ok(match current {
                    Some(c) if c.minute >= minute => Edit::Keep(()),
                    _ => Edit::Write(Cursor { minute }, ()),
                })
            })
            .await;
        if let Err(problem) = moved {
            eprintln!("dispatch: the cursor stays: {}", problem.detail);
        }
    }
}

/// The claim of one item type (see [`Dispatcher::claim`]).
async fn claim<S, T, I>(
    app: &App<S, T>,
    key: &str,
    seen: usize,
    now: u64,
) -> Result<Option<I>, Problem>
where
    S: KeyValue,
    T: Transport,
    I: Deliverable + Serialize + DeserializeOwned + Clone,
{
    app.records()
        .update(key, |current: Option<I>| {
            Ok(match current {
                Some(mut i) if i.due(now) && i.attempts().len() == seen => {
                    i.claim(Some(now + CLAIM_FOR));
                    Edit::Write(i.clone(), Some(i))
                }
                _ => Edit::Keep(None),
            })
        })
        .await
}

/// The recording of one item type (see [`Dispatcher::record`]): the
/// claimed attempt appended to the item as it now is, with its schedule.
async fn record<S, T, I>(app: &App<S, T>, key: &str, tried: &I) -> Result<I, Problem>
where
    S: KeyValue,
    T: Transport,
    I: Deliverable + Serialize + DeserializeOwned + Clone,
{
    let Some(attempt) = tried.attempts().last().cloned() else {
        return Ok(tried.clone());
    };
    let next = tried.next_attempt_at();
    app.records()
        .update(key, |current: Option<I>| {
            Ok(match current {
                Some(mut i) => {
                    i.record(attempt.clone(), next);
                    Edit::Write(i.clone(), i)
                }
                None => Edit::Keep(tried.clone()),
            })
        })
        .await
}
