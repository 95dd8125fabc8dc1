//! Subjects as threading compares them: reply and forward prefixes and
//! `[tags]` stripped, case folded, whitespace collapsed.

/// Reply and forward markers in the languages mail clients commonly write
/// (`Re`, `Fwd`, German `AW`/`WG`, Scandinavian `SV`/`VS`, Dutch `Antw`,
/// French `TR`, Italian `Rif`, Polish `Odp`, Chinese 回复/转发/答复).
const PREFIXES: [&str; 16] = [
    "re", "fwd", "fw", "aw", "wg", "sv", "vs", "antw", "tr", "rif", "r", "odp", "ref", "回复",
    "转发", "答复",
];

/// A `[tag]` longer than this is text, not a tag.
const MAX_TAG_CHARS: usize = 64;

/// The subject threading compares: `Re: [Ads] AW: Bike  for SALE` →
/// `bike for sale`.
pub fn normalize(subject: &str) -> String {
    let mut rest = subject.trim();
    loop {
        let stripped = strip_tag(rest).or_else(|| strip_prefix(rest));
        match stripped {
            Some(after) => rest = after.trim_start(),
            None => break,
        }
    }
    let mut out = String::with_capacity(rest.len());
    for word in rest.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// `[anything]` at the start (a list or "[EXTERNAL]" tag).
fn strip_tag(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('[')?;
    let close = inner.find(']')?;
    (inner[..close].chars().count() <= MAX_TAG_CHARS).then(|| &inner[close + 1..])
}

/// `Re:`, `RE :`, `Re[2]:`, `Re(2):`, `Fwd：` … at the start.
fn strip_prefix(s: &str) -> Option<&str> {
    let word_end = s
        .char_indices()
        .find(|(_, c)| !c.is_alphabetic())
        .map_or(s.len(), |(i, _)| i);
    let word = &s[..word_end];
    if !PREFIXES.iter().any(|p| word.eq_ignore_ascii_case(p)) {
        return None;
    }
    let rest = s[word_end..].trim_start();
    let rest = strip_counter(rest).unwrap_or(rest).trim_start();
    rest.strip_prefix(':').or_else(|| rest.strip_prefix('：'))
}

/// `[2]` or `(2)`: the reply counter some clients add.
fn strip_counter(s: &str) -> Option<&str> {
    let (open, close) = match s.chars().next()? {
        '[' => ('[', ']'),
        '(' => ('(', ')'),
        _ => return None,
    };
    let inner = s.strip_prefix(open)?;
    let end = inner.find(close)?;
    inner[..end]
        .chars()
        .all(|c| c.is_ascii_digit())
        .then(|| &inner[end + 1..])
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn prefixes_tags_case_and_spaces_go() {
        for (raw, want) in [
            ("Bike for sale", "bike for sale"),
            ("Re: Bike for sale", "bike for sale"),
            ("RE: re: Fwd: Bike  for\tsale ", "bike for sale"),
            ("AW: SV: WG: Bike for sale", "bike for sale"),
            ("[Ads] Re: [EXTERNAL] Bike for sale", "bike for sale"),
            ("Re[2]: Bike for sale", "bike for sale"),
            ("Re (3): Bike for sale", "bike for sale"),
            ("RE : Bike for sale", "bike for sale"),
            ("回复：Bike for sale", "bike for sale"),
            ("Fwd:Bike for sale", "bike for sale"),
        ] {
            assert_eq!(normalize(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn words_that_merely_start_like_prefixes_stay() {
        assert_eq!(normalize("Regarding the bike"), "regarding the bike");
        assert_eq!(normalize("Re-listing: bike"), "re-listing: bike");
        assert_eq!(normalize("Trek: bike"), "trek: bike");
        assert_eq!(normalize("[unclosed tag"), "[unclosed tag");
    }

    #[test]
    fn only_prefixes_leave_nothing() {
        assert_eq!(normalize("Re: "), "");
        assert_eq!(normalize(""), "");
        assert_eq!(normalize("Re: [tag]"), "");
    }
}
