//! `Accept-Language` (RFC 9110, section 12.5.4): which of our languages a
//! browser prefers.
//!
//! The header lists language ranges (`de-CH`, `de`, `*`), each with an
//! optional weight `q` from 0 to 1 (1 when absent; 0 means "not this one").
//! A language of ours is weighed by the ranges naming its primary subtag
//! (`de-CH` and `de` both name German), the highest of them; a language no
//! range names takes the weight of `*`, if there is one. The heaviest
//! language wins; on a tie, the one named first; `*` alone means English.

use super::Language;

/// The most ranges read from one header: the rest are ignored.
const MAX_RANGES: usize = 32;

/// The language of ours the header prefers, if it accepts any.
pub fn negotiate(header: &str) -> Option<Language> {
    // Per language: its weight, and where it was first named (`*` counts as
    // after every named range).
    let mut named: [Option<(u16, usize)>; 4] = [None; 4];
    let mut wildcard: Option<u16> = None;
    for (position, (range, q)) in ranges(header).take(MAX_RANGES).enumerate() {
        if range == "*" {
            wildcard = Some(wildcard.map_or(q, |w| w.max(q)));
            continue;
        }
        if let Some(language) = Language::of_tag(range) {
            let slot = &mut named[language as usize];
            *slot = Some(match *slot {
                Some((weight, first)) => (weight.max(q), first),
                None => (q, position),
            });
        }
    }
    Language::ALL
        .into_iter()
        .filter_map(|language| {
            let (weight, first) = match named[language as usize] {
                Some(named) => named,
                None => (wildcard?, usize::MAX),
            };
            (weight > 0).then_some((weight, first, language))
        })
        // Heaviest first; then the earliest named; `ALL` puts English first among the rest.
        .min_by_key(|(weight, first, _)| (u16::MAX - weight, *first))
        .map(|(_, _, language)| language)
}

/// The header's well-formed ranges with their weights in thousandths; a
/// range whose weight does not parse is left out.
fn ranges(header: &str) -> impl Iterator<Item = (&str, u16)> {
    header.split(',').filter_map(|item| {
        let mut parts = item.split(';');
        let range = parts.next()?.trim();
        let well_formed = range == "*"
            || (!range.is_empty()
                && range.len() <= 35
                && range.split('-').all(|s| {
                    (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
                }));
        if !well_formed {
            return None;
        }
        let mut q = 1000;
        for parameter in parts {
            let (name, value) = parameter.split_once('=')?;
            if name.trim().eq_ignore_ascii_case("q") {
                q = weight(value.trim())?;
            }
        }
        Some((range, q))
    })
}

/// A `qvalue` (`1`, `0.8`, `0.125`, `1.000`) in thousandths.
fn weight(value: &str) -> Option<u16> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |n, b| n * 10 + u16::from(b - b'0'));
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Language::*;

    #[test]
    fn the_heaviest_language_of_ours_wins() {
        for (header, expected) in [
            ("de", Some(De)),
            ("de-AT", Some(De)),
            ("nl-BE,nl;q=0.9,en;q=0.8", Some(Nl)),
            ("fr-BE, fr;q=0.9, en;q=0.8, nl;q=0.7", Some(Fr)),
            ("en-US,en;q=0.9,de;q=0.8", Some(En)),
            // Weights, not order, decide.
            ("en;q=0.5, de;q=0.9", Some(De)),
            ("es, fr;q=0.4, de;q=0.3", Some(Fr)),
            // A language ours by its primary subtag only.
            ("DE-ch", Some(De)),
            // The highest weight of a language's ranges counts.
            ("de;q=0.2, fr;q=0.5, de-CH;q=0.8", Some(De)),
            // On a tie, the one named first.
            ("nl;q=0.8, de;q=0.8", Some(Nl)),
            ("de, fr", Some(De)),
        ] {
            assert_eq!(negotiate(header), expected, "{header}");
        }
    }

    #[test]
    fn zero_refuses_and_nothing_of_ours_is_none() {
        assert_eq!(negotiate("de;q=0, fr;q=0.1"), Some(Fr));
        assert_eq!(negotiate("de;q=0"), None);
        assert_eq!(negotiate("es, it;q=0.9, ja"), None);
        assert_eq!(negotiate(""), None);
        assert_eq!(negotiate(" , ;q=1"), None);
    }

    #[test]
    fn the_wildcard_weighs_what_is_not_named() {
        assert_eq!(negotiate("*"), Some(En), "any language: English");
        assert_eq!(negotiate("es, *;q=0.1"), Some(En));
        assert_eq!(negotiate("en;q=0, *"), Some(De), "anything but English");
        assert_eq!(
            negotiate("*;q=0.5, fr"),
            Some(Fr),
            "named beats the wildcard"
        );
        assert_eq!(negotiate("*;q=0"), None);
    }

    #[test]
    fn weights_are_read_strictly() {
        assert_eq!(weight("1"), Some(1000));
        assert_eq!(weight("1.000"), Some(1000));
        assert_eq!(weight("0.8"), Some(800));
        assert_eq!(weight("0.125"), Some(125));
        assert_eq!(weight("0"), Some(0));
        assert_eq!(weight("0."), Some(0));
        for bad in ["1.5", "2", "0.1234", "-0.5", "0.x", "", ".5", "q"] {
            assert_eq!(weight(bad), None, "{bad}");
        }
        // A range with a weight that does not parse is left out, not taken as 1.
        assert_eq!(negotiate("de;q=2, fr;q=0.5"), Some(Fr));
        assert_eq!(negotiate("de;q=high, nl;q=0.1"), Some(Nl));
        // Other parameters are ignored; spaces around `;` and `=` too.
        assert_eq!(negotiate("de ; x=y ; q = 0.3, fr;q=0.2"), Some(De));
    }

    #[test]
    fn malformed_ranges_are_skipped() {
        assert_eq!(negotiate("d e, fr;q=0.5"), Some(Fr));
        assert_eq!(negotiate("de_DE, nl;q=0.5"), Some(Nl));
        assert_eq!(negotiate("de--x, nl;q=0.5"), Some(Nl));
        assert_eq!(
            negotiate(&format!("{}, fr;q=0.1", "x".repeat(40))),
            Some(Fr)
        );
    }

    #[test]
    fn only_the_first_ranges_are_read() {
        let many = std::iter::repeat_n("es", 40)
            .chain(["de"])
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(negotiate(&many), None);
    }
}
