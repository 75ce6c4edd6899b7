//! Lists kept as sequences: a counter (`<prefix>/seq`) and one key per slot
//! (`<prefix>/<n>`), so a page is a counter read (one get, see
//! [`super::Records::counter`]) plus one get-many, whatever the size of the
//! store.
//!
//! A slot may hold a record or a placeholder of a commit that fills it, or
//! nothing (a number taken by an operation that did not commit); a page
//! shows records only. Placeholders it meets are finished first (the commit they
//! name is rolled forward) and read again; a filtered or gappy page reads at
//! most [`MAX_FILTER_BATCHES`] batches of slots and may come back short, with
//! `next_cursor` continuing where it stopped.

use serde::de::DeserializeOwned;

use super::{KeyValue, Records, Slot, StoreError};
use crate::problem::{Problem, ProblemKind};

/// Largest page a list returns.
pub const MAX_PAGE: usize = 100;
/// Page size when none is asked for.
pub const DEFAULT_PAGE: usize = 20;
/// How many batches of slots a page may read.
pub const MAX_FILTER_BATCHES: usize = 4;

/// Page size and starting point of a list request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// How many items at most.
    pub limit: usize,
    /// Start below this sequence number (from a previous `next_cursor`).
    pub before: Option<u64>,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            limit: DEFAULT_PAGE,
            before: None,
        }
    }
}

/// A `limit` query value: a whole number from 1 to `max`, `default` if absent.
pub fn parse_limit(limit: Option<&str>, default: usize, max: usize) -> Result<usize, Problem> {
    match limit {
        None => Ok(default),
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=max).contains(l))
            .ok_or_else(|| {
                Problem::new(
                    ProblemKind::Malformed,
                    format!("limit must be a whole number from 1 to {max}"),
                )
            }),
    }
}

impl PageRequest {
    /// Parses `limit` and `cursor` query values.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<PageRequest, Problem> {
        let limit = parse_limit(limit, DEFAULT_PAGE, MAX_PAGE)?;
        // A cursor is a slot number as `next_cursor` writes it: 1 to 19
        // digits, no leading zero, no sign (the document's pattern).
        let before = match cursor {
            None => None,
            Some(c) => Some(
                Some(c)
                    .filter(|c| {
                        (1..=19).contains(&c.len())
                            && !c.starts_with('0')
                            && c.bytes().all(|b| b.is_ascii_digit())
                    })
                    .and_then(|c| c.parse::<u64>().ok())
                    .ok_or_else(|| {
                        Problem::new(
                            ProblemKind::Malformed,
                            "cursor must be a value returned as next_cursor",
                        )
                    })?,
            ),
        };
        Ok(PageRequest { limit, before })
    }

    /// The slot numbers of this page, newest first, given the counter's value.
    pub fn slots(&self, top: u64) -> Vec<u64> {
        let start = self.before.map_or(top, |b| b.saturating_sub(1).min(top));
        (1..=start).rev().take(self.limit).collect()
    }
}

/// Slot numbers taken from a sequence: `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken {
    /// The first number.
    pub first: u64,
    /// How many.
    pub count: u64,
}

impl Taken {
    /// The `i`-th number taken (from 0).
    pub fn nth(&self, i: u64) -> u64 {
        self.first + i
    }
}

/// One sequence: its counter and its slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequence {
    prefix: String,
}

impl Sequence {
    /// The sequence under `prefix` (built by [`super::keys`]).
    pub(crate) fn new(prefix: String) -> Sequence {
        Sequence { prefix }
    }

    /// The counter's key.
    pub fn counter(&self) -> String {
        format!("{}/seq", self.prefix)
    }

    /// Slot `n`'s key.
    pub fn slot(&self, n: u64) -> String {
        format!("{}/{n}", self.prefix)
    }

    /// Takes `count` fresh slot numbers in one round trip.
    pub async fn take<S: KeyValue>(
        &self,
        records: Records<'_, S>,
        count: u64,
    ) -> Result<Taken, StoreError> {
        let count_i = i64::try_from(count.max(1))
            .map_err(|_| StoreError::Backend("too many slots at once".into()))?;
        let last = records.kv().increment(&self.counter(), count_i).await?;
        let last = u64::try_from(last).unwrap_or(0);
        Ok(Taken {
            first: last.saturating_sub(count.max(1) - 1).max(1),
            count: count.max(1),
        })
    }

    /// One page, newest first, of the records for which `keep` holds.
    /// Placeholders met on the way are handed to `finish`, which rolls their
    /// commit forward and answers whether that commit is final; they are
    /// then read again. One still pending is left out, as an operation not
    /// yet committed; if its commit is final it never will be filled, and is
    /// deleted (only its reserving operation ever wrote that slot).
    pub async fn page<S, T>(
        &self,
        records: Records<'_, S>,
        page: PageRequest,
        keep: impl Fn(&T) -> bool,
        finish: impl AsyncFn(&str) -> Result<bool, Problem>,
    ) -> Result<(Vec<T>, Option<String>), Problem>
    where
        S: KeyValue,
        T: DeserializeOwned,
    {
        let top = records.counter(&self.counter()).await?;
        let mut items = Vec::new();
        let mut cursor = page.before;
        for _ in 0..MAX_FILTER_BATCHES {
            let request = PageRequest {
                limit: page.limit - items.len(),
                before: cursor,
            };
            let numbers = request.slots(top);
            let Some(&lowest) = numbers.last() else {
                cursor = None;
                break;
            };
            let keys: Vec<String> = numbers.iter().map(|n| self.slot(*n)).collect();
            let mut found: Vec<Slot<T>> = records.slots(&keys).await?;
            let pending: Vec<(usize, String)> = found
                .iter()
                .enumerate()
                .filter_map(|(i, s)| match s {
                    Slot::Pending(commit) => Some((i, commit.clone())),
                    _ => None,
                })
                .collect();
            if !pending.is_empty() {
                let mut finals: Vec<(&str, bool)> = Vec::new();
                for (_, commit) in &pending {
                    if !finals.iter().any(|(c, _)| *c == commit.as_str()) {
                        finals.push((commit, finish(commit).await?));
                    }
                }
                let again: Vec<String> = pending.iter().map(|(i, _)| keys[*i].clone()).collect();
                let mut dead = Vec::new();
                for ((i, commit), slot) in pending.iter().zip(records.slots(&again).await?) {
                    let is_final = finals.iter().any(|(c, f)| *c == commit.as_str() && *f);
                    found[*i] = match slot {
                        Slot::Pending(_) if is_final => {
                            dead.push(keys[*i].clone());
                            Slot::Absent
                        }
                        other => other,
                    };
                }
                records.release(&dead).await?;
            }
            items.extend(
                found
                    .into_iter()
                    .filter_map(Slot::record)
                    .filter(|r| keep(r)),
            );
            cursor = (lowest > 1).then_some(lowest);
            if cursor.is_none() || items.len() >= page.limit {
                break;
            }
        }
        Ok((items, cursor.map(|c| c.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_walk_down_from_the_top() {
        let p = PageRequest::parse(Some("3"), None).expect("valid");
        assert_eq!(p.slots(10), [10, 9, 8]);
        let next = PageRequest::parse(Some("3"), Some("8")).expect("valid");
        assert_eq!(next.slots(10), [7, 6, 5]);
        assert_eq!(
            PageRequest::parse(Some("3"), Some("2"))
                .expect("valid")
                .slots(10),
            [1]
        );
        assert!(PageRequest::parse(Some("0"), None).is_err());
        assert!(PageRequest::parse(Some("101"), None).is_err());
        assert!(PageRequest::parse(None, Some("x")).is_err());
        for bad in ["", "0", "007", "+5", "-1", "1.0", "10000000000000000000"] {
            assert!(PageRequest::parse(None, Some(bad)).is_err(), "{bad:?}");
        }
        assert_eq!(
            PageRequest::parse(None, Some("9999999999999999999"))
                .expect("19 digits")
                .before,
            Some(9_999_999_999_999_999_999)
        );
    }
}
