//! The offline defaults: no key, no network, the same answer every time.
//!
//! [`HashedLexicalEmbedder`] hashes word unigrams, word bigrams and
//! character trigrams into a signed 384-d vector (the "hashing trick"); it
//! knows spelling, not meaning, and its name says so. [`RetrievalDrafter`]
//! adapts the reply a rep approved for the most similar past message.

use super::{AiError, Draft, DraftRequest, Drafter, Embedded, Embedder, Example, Usage};
use futures::future::{self, BoxFuture};
use serde_json::json;

pub const LEXICAL_PREFIX: &str = "hashed-lexical-";
pub const LEXICAL_DIMENSIONS: usize = 384;

/// Words too common to say what a message is about; they still count, a little.
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "is", "it", "its", "to", "of", "and", "or", "for", "in", "on", "at", "i",
    "im", "you", "me", "my", "your", "this", "that", "be", "are", "was", "with", "have", "has",
    "do", "does", "can", "could", "would", "will", "just", "so", "we", "our", "us", "if", "as",
    "but", "by", "from", "s", "t", "about", "any", "there", "what", "when", "how",
];

const UNIGRAM_WEIGHT: f32 = 1.0;
const STOPWORD_WEIGHT: f32 = 0.25;
const BIGRAM_WEIGHT: f32 = 0.6;
/// Each word's trigrams together weigh this much of the word itself.
const TRIGRAM_SHARE: f32 = 0.5;

/// A word-and-character-n-gram embedder: deterministic across runs,
/// machines and Rust versions (its hash is spelled out here, not std's).
#[derive(Debug, Clone)]
pub struct HashedLexicalEmbedder {
    name: String,
    dimensions: usize,
}

impl Default for HashedLexicalEmbedder {
    fn default() -> Self {
        HashedLexicalEmbedder::new(LEXICAL_DIMENSIONS)
    }
}

impl HashedLexicalEmbedder {
    /// Named `hashed-lexical-{dimensions}`; `dimensions` is at least 1.
    pub fn new(dimensions: usize) -> HashedLexicalEmbedder {
        let dimensions = dimensions.max(1);
        HashedLexicalEmbedder {
            name: format!("{LEXICAL_PREFIX}{dimensions}"),
            dimensions,
        }
    }

    /// The dimension a `hashed-lexical-N` model name asks for.
    pub fn dimensions_of(model: &str) -> Option<usize> {
        model
            .strip_prefix(LEXICAL_PREFIX)?
            .parse()
            .ok()
            .filter(|&d| (1..=16_000).contains(&d))
    }

    /// One unit-length vector, synchronously (for bulk loaders that run
    /// it on their own threads).
    pub fn embed_one(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0.0f32; self.dimensions];
        let words = words(text);
        for (i, w) in words.iter().enumerate() {
            let weight = if STOPWORDS.contains(&w.as_str()) {
                STOPWORD_WEIGHT
            } else {
                UNIGRAM_WEIGHT
            };
            self.add(&mut v, b'u', &[w.as_bytes()], weight);
            if let Some(next) = words.get(i + 1) {
                let both_stop =
                    STOPWORDS.contains(&w.as_str()) && STOPWORDS.contains(&next.as_str());
                let weight = if both_stop {
                    BIGRAM_WEIGHT * STOPWORD_WEIGHT
                } else {
                    BIGRAM_WEIGHT
                };
                self.add(&mut v, b'b', &[w.as_bytes(), b" ", next.as_bytes()], weight);
            }
            let padded: Vec<char> = std::iter::once(' ')
                .chain(w.chars())
                .chain(std::iter::once(' '))
                .collect();
            let grams = padded.len().saturating_sub(2).max(1);
            let per = TRIGRAM_SHARE * weight / (grams as f32).sqrt();
            for tri in padded.windows(3) {
                let s: String = tri.iter().collect();
                self.add(&mut v, b't', &[s.as_bytes()], per);
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        } else {
            // No words at all: one fixed feature keeps the vector unit-length
            // (a zero vector has no cosine distance to anything).
            let h = hash(b'e', &[]);
            v[(h % self.dimensions as u64) as usize] = 1.0;
        }
        v
    }

    fn add(&self, v: &mut [f32], kind: u8, parts: &[&[u8]], weight: f32) {
        let h = hash(kind, parts);
        let i = (h % self.dimensions as u64) as usize;
        let sign = if h >> 63 == 1 { -1.0 } else { 1.0 };
        v[i] += sign * weight;
    }
}

impl Embedder for HashedLexicalEmbedder {
    fn name(&self) -> &str {
        &self.name
    }
    fn dimensions(&self) -> usize {
        self.dimensions
    }
    fn provider(&self) -> &str {
        "offline"
    }
    fn embed<'a>(&'a self, texts: &'a [String]) -> BoxFuture<'a, Result<Embedded, AiError>> {
        let vectors = texts.iter().map(|t| self.embed_one(t)).collect();
        Box::pin(future::ready(Ok(Embedded {
            vectors,
            usage: Usage::default(),
        })))
    }
}

/// Lower-cased alphanumeric runs.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// FNV-1a over a kind tag and the parts, then a splitmix64 finish so the
/// low bits (the bucket) and the top bit (the sign) are both well mixed.
fn hash(kind: u8, parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in std::iter::once(&kind).chain(parts.iter().flat_map(|p| p.iter())) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Cosine of two vectors (for unit vectors, their dot product).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// Below this similarity an example is about something else: adapting its
/// reply would be worse than a holding answer.
const MIN_USEFUL_SCORE: f32 = 0.15;
/// Examples scoring less than this share of the best one do not count
/// towards agreement.
const RELEVANT_SHARE: f32 = 0.6;
const MAX_CONFIDENCE: f32 = 0.95;
const MIN_CONFIDENCE: f32 = 0.05;
const HOLDING_CONFIDENCE: f32 = 0.1;

/// The offline drafter: adapts the approved (or edited) reply of the most
/// similar past message to this lead, subject, item and rep.
#[derive(Debug, Clone)]
pub struct RetrievalDrafter {
    name: String,
    /// Compares example replies with each other (agreement); lexical on
    /// purpose: it is about wording, and costs no network call.
    lexical: HashedLexicalEmbedder,
}

impl RetrievalDrafter {
    /// `embedding_model` names the space the examples were retrieved in.
    pub fn new(embedding_model: &str) -> RetrievalDrafter {
        RetrievalDrafter {
            name: format!("retrieval/{embedding_model}"),
            lexical: HashedLexicalEmbedder::default(),
        }
    }

    /// The draft, synchronously.
    pub fn draft_now(&self, req: &DraftRequest) -> Draft {
        let sentiment = sentiment_of(last_inbound(req));
        let mut ranked: Vec<&Example> = req
            .examples
            .iter()
            .filter(|e| !e.reply.trim().is_empty())
            .collect();
        // Most similar first, whatever order they came in; NaN scores last.
        ranked.sort_by(|a, b| score(b).total_cmp(&score(a)));
        let Some(best) = ranked.first().filter(|e| score(e) >= MIN_USEFUL_SCORE) else {
            return Draft {
                reply: holding_reply(req),
                confidence: HOLDING_CONFIDENCE,
                sentiment: Some(sentiment.into()),
                model: self.name.clone(),
                usage: Usage::default(),
                // Too far to have shaped the text: based on nothing.
                context: json!({"based_on": [], "drafter": "retrieval"}),
            };
        };
        let adapted = adapt(best, req);
        // Neighbours far behind the best one are noise, not a second opinion.
        let floor = MIN_USEFUL_SCORE.max(RELEVANT_SHARE * score(best));
        let relevant: Vec<&Example> = ranked
            .iter()
            .copied()
            .filter(|e| score(e) >= floor)
            .collect();
        let top: Vec<String> = relevant
            .iter()
            .take(3)
            .map(|e| adapt(e, req).text)
            .collect();
        let based_on: Vec<serde_json::Value> = relevant
            .iter()
            .take(3)
            .map(|e| json!({"conversation_id": e.conversation_id, "score": round2(score(e))}))
            .collect();
        let agreement = (top.len() > 1).then(|| self.agreement(&top));
        let mut confidence = confidence(score(best), agreement, relevant.len());
        if !adapted.check.is_empty() {
            confidence *= 0.8;
        }
        let mut context = json!({
            "based_on": based_on,
            "drafter": "retrieval",
        });
        if let Some(a) = agreement {
            context["agreement"] = json!(round2(a));
        }
        if !adapted.check.is_empty() {
            context["check"] = json!(adapted.check);
        }
        Draft {
            reply: adapted.text,
            confidence: confidence.clamp(MIN_CONFIDENCE, MAX_CONFIDENCE),
            sentiment: Some(sentiment.into()),
            model: self.name.clone(),
            usage: Usage::default(),
            context,
        }
    }

    /// Mean pairwise cosine of the replies' lexical vectors.
    fn agreement(&self, replies: &[String]) -> f32 {
        let vs: Vec<Vec<f32>> = replies.iter().map(|r| self.lexical.embed_one(r)).collect();
        let mut sum = 0.0;
        let mut n = 0;
        for i in 0..vs.len() {
            for j in i + 1..vs.len() {
                sum += cosine(&vs[i], &vs[j]);
                n += 1;
            }
        }
        if n == 0 { 0.0 } else { sum / n as f32 }
    }
}

impl Drafter for RetrievalDrafter {
    fn name(&self) -> &str {
        &self.name
    }
    fn provider(&self) -> &str {
        "offline"
    }
    fn draft<'a>(&'a self, req: &'a DraftRequest) -> BoxFuture<'a, Result<Draft, AiError>> {
        Box::pin(future::ready(Ok(self.draft_now(req))))
    }
}

fn score(e: &Example) -> f32 {
    if e.score.is_finite() {
        e.score.clamp(-1.0, 1.0)
    } else {
        -1.0
    }
}

fn round2(x: f32) -> f64 {
    (f64::from(x) * 100.0).round() / 100.0
}

/// Similarity of the best example (how close the question is) and agreement
/// of the top replies (whether reps answer such questions one way), damped
/// when there are few examples to go on.
fn confidence(top_score: f32, agreement: Option<f32>, examples: usize) -> f32 {
    // Lexical cosines: under ~0.1 is noise; ~0.45 is the same question
    // about another item (item words differ); ~0.6 and up the same message
    // reworded.
    let similarity = ((top_score - 0.1) / 0.5).clamp(0.0, 1.0);
    let agreement = agreement.map_or(0.3, |a| ((a - 0.2) / 0.6).clamp(0.0, 1.0));
    let few = match examples {
        0 | 1 => 0.75,
        2 => 0.9,
        _ => 1.0,
    };
    MIN_CONFIDENCE + 0.9 * (0.65 * similarity + 0.35 * agreement) * few
}

fn last_inbound(req: &DraftRequest) -> &str {
    req.thread
        .iter()
        .rev()
        .find(|m| m.inbound)
        .map_or("", |m| m.text.as_str())
}

/// `positive`, `neutral` or `negative`, from a few lexical cues.
pub fn sentiment_of(text: &str) -> &'static str {
    const POSITIVE: &[&str] = &[
        "thanks",
        "thank",
        "great",
        "perfect",
        "awesome",
        "love",
        "interested",
        "excellent",
        "wonderful",
        "happy",
        "glad",
        "amazing",
        "appreciate",
        "excited",
        "nice",
        "cheers",
    ];
    const NEGATIVE: &[&str] = &[
        "disappointed",
        "unhappy",
        "angry",
        "terrible",
        "awful",
        "scam",
        "broken",
        "damaged",
        "rude",
        "ridiculous",
        "waste",
        "cancel",
        "complaint",
        "refund",
        "overpriced",
        "worst",
        "annoyed",
        "unacceptable",
    ];
    const NEGATIONS: &[&str] = &["not", "no", "never", "dont", "don"];
    let ws = words(text);
    let mut score = 0.0f32;
    for (i, w) in ws.iter().enumerate() {
        let negated = i > 0 && NEGATIONS.contains(&ws[i - 1].as_str());
        if POSITIVE.contains(&w.as_str()) {
            score += if negated { -1.5 } else { 1.0 };
        } else if NEGATIVE.contains(&w.as_str()) {
            score -= 1.5;
        }
    }
    if score > 0.0 {
        "positive"
    } else if score < 0.0 {
        "negative"
    } else {
        "neutral"
    }
}

/// A reply adapted to this conversation, and amounts a rep should check.
struct Adapted {
    text: String,
    check: Vec<String>,
}

fn adapt(example: &Example, req: &DraftRequest) -> Adapted {
    let mut text = example.reply.trim().to_string();
    let (old_item, old_price) = item_of(&example.subject);
    let (new_item, new_price) = item_of(&req.subject);
    if !example.subject.trim().is_empty() && !req.subject.trim().is_empty() {
        text = replace_phrase(&text, example.subject.trim(), req.subject.trim(), true);
    }
    if !old_item.is_empty() && !new_item.is_empty() {
        text = replace_phrase(&text, &old_item, &new_item, true);
    }
    if let (Some(old), Some(new)) = (&old_price, &new_price) {
        text = replace_phrase(&text, old, new, false);
    }
    let old_first = first_name(&example.lead_name);
    let new_first = first_name(&req.lead_name);
    if !old_first.is_empty() {
        let to = if new_first.is_empty() {
            "there"
        } else {
            new_first
        };
        let full = example.lead_name.trim();
        if full != old_first {
            text = replace_phrase(&text, full, to, false);
        }
        text = replace_phrase(&text, old_first, to, false);
    }
    text = sign(&text, &req.rep_name);
    // Amounts this conversation's subject does not back up came from the
    // other thread (its price, an offer made there): a rep must look.
    let check = amounts(&text)
        .into_iter()
        .filter(|a| new_price.as_deref() != Some(a.as_str()))
        .collect();
    Adapted { text, check }
}

/// A holding answer for when nothing similar was ever answered.
fn holding_reply(req: &DraftRequest) -> String {
    let first = first_name(&req.lead_name);
    let greeting = if first.is_empty() {
        "Hi there".to_string()
    } else {
        format!("Hi {first}")
    };
    let (item, _) = item_of(&req.subject);
    let about = if item.is_empty() {
        String::new()
    } else {
        format!(" about the {item}")
    };
    let body = format!(
        "{greeting}, thanks for your message{about}. I'll check and get back to you shortly."
    );
    sign(&body, &req.rep_name)
}

/// The first word of a display name; nothing for an email address.
fn first_name(name: &str) -> &str {
    let first = name
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_matches(|c: char| !c.is_alphanumeric());
    if first.contains('@') { "" } else { first }
}

/// The item a subject is about, and its listed price: "Question about the X",
/// "Inquiry: X", "X - $450", "Re: X".
pub fn item_of(subject: &str) -> (String, Option<String>) {
    let mut s = subject.trim();
    loop {
        let lower = s.to_ascii_lowercase();
        let Some(rest) = ["re:", "fwd:", "fw:", "aw:"]
            .iter()
            .find(|p| lower.starts_with(*p))
            .and_then(|p| s.get(p.len()..))
        else {
            break;
        };
        s = rest.trim_start();
    }
    for prefix in [
        "question about the ",
        "question about ",
        "inquiry about the ",
        "inquiry about ",
        "inquiry: ",
        "interested in the ",
        "interested in ",
    ] {
        if s.len() >= prefix.len()
            && s.is_char_boundary(prefix.len())
            && s[..prefix.len()].eq_ignore_ascii_case(prefix)
        {
            s = &s[prefix.len()..];
            break;
        }
    }
    let mut price = None;
    if let Some(i) = s.rfind(" - ") {
        let tail = s[i + 3..].trim();
        if tail.starts_with('$') || tail.starts_with(|c: char| c.is_ascii_digit()) {
            price = amounts(tail).into_iter().next();
            s = &s[..i];
        }
    }
    (s.trim().to_string(), price)
}

/// Dollar amounts like `$450` or `$1,100.50`, as written.
fn amounts(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices('$') {
        let tail = &text[i + 1..];
        let len = tail
            .char_indices()
            .take_while(|&(_, c)| c.is_ascii_digit() || c == ',' || c == '.')
            .last()
            .map_or(0, |(j, c)| j + c.len_utf8());
        let num = tail[..len].trim_end_matches([',', '.']);
        if num.starts_with(|c: char| c.is_ascii_digit()) {
            out.push(format!("${num}"));
        }
    }
    out
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Replace every occurrence of `from` that is not part of a longer word;
/// names match case-sensitively ("Will" the lead, not "will" the verb).
fn replace_phrase(text: &str, from: &str, to: &str, ignore_case: bool) -> String {
    if from.is_empty() || from == to {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let candidate = text.get(i..i + from.len()).filter(|c| {
            if ignore_case {
                c.eq_ignore_ascii_case(from)
            } else {
                *c == from
            }
        });
        let bounded = candidate.is_some() && {
            let before = text[..i].chars().next_back();
            let after = text[i + from.len()..].chars().next();
            let starts_word = from.starts_with(is_word_char);
            let ends_word = from.ends_with(is_word_char);
            let glued_before = starts_word && before.is_some_and(is_word_char);
            let glued_after = ends_word && after.is_some_and(is_word_char);
            !glued_before && !glued_after
        };
        if bounded {
            out.push_str(to);
            i += from.len();
        } else if let Some(c) = text[i..].chars().next() {
            out.push(c);
            i += c.len_utf8();
        } else {
            break;
        }
    }
    out
}

const SIGN_OFFS: &[&str] = &[
    "thanks",
    "thank you",
    "best",
    "cheers",
    "regards",
    "best regards",
    "kind regards",
    "talk soon",
];

/// Put `rep_name` where the example's rep signed: a trailing "— Name", or a
/// name on the line after a sign-off ("Thanks,\nName"). Without either, the
/// text is kept as it is.
fn sign(text: &str, rep_name: &str) -> String {
    let rep = rep_name.trim();
    let text = text.trim_end();
    for dash in [" — ", " – ", " -- ", "\n— ", "\n-- "] {
        if let Some(i) = text.rfind(dash) {
            let tail = text[i + dash.len()..].trim();
            if looks_like_name(tail) {
                let head = &text[..i];
                return if rep.is_empty() {
                    head.trim_end().to_string()
                } else {
                    format!("{head}{dash}{rep}")
                };
            }
        }
    }
    if let Some((head, last)) = text.rsplit_once('\n')
        && looks_like_name(last.trim())
    {
        let prev = head.lines().last().unwrap_or("").trim();
        let prev = prev.trim_end_matches([',', '!', '.']).to_ascii_lowercase();
        if SIGN_OFFS.contains(&prev.as_str()) {
            return if rep.is_empty() {
                head.trim_end().to_string()
            } else {
                format!("{head}\n{rep}")
            };
        }
    }
    if rep.is_empty() {
        text.to_string()
    } else if text.contains('\n') {
        format!("{text}\n\n— {rep}")
    } else {
        format!("{text} — {rep}")
    }
}

/// One to three capitalised words, no sentence punctuation.
fn looks_like_name(s: &str) -> bool {
    let words: Vec<&str> = s.split_whitespace().collect();
    (1..=3).contains(&words.len())
        && words
            .iter()
            .all(|w| w.chars().next().is_some_and(char::is_uppercase))
        && !s.contains(['.', '!', '?', ',', ':'])
}

#[cfg(test)]
mod tests {
    use super::super::ThreadMessage;
    use super::*;

    const PINNED_BIKE_HASH: u64 = 1_856_499_521_231_885_437;

    fn e() -> HashedLexicalEmbedder {
        HashedLexicalEmbedder::default()
    }

    fn sim(a: &str, b: &str) -> f32 {
        cosine(&e().embed_one(a), &e().embed_one(b))
    }

    #[test]
    fn embedding_is_deterministic_and_named_for_what_it_is() {
        let text = "Hi, is the 2018 Trek FX 3 hybrid bike still available?";
        let a = e().embed_one(text);
        let b = HashedLexicalEmbedder::new(384).embed_one(text);
        assert_eq!(a, b);
        assert_eq!(a.len(), 384);
        assert_eq!(e().name(), "hashed-lexical-384");
        assert_eq!(e().dimensions(), 384);
        // Pinned values: the hash is ours, so stored vectors stay valid
        // across Rust versions; a change here means re-embedding everything.
        let nonzero = a.iter().filter(|x| **x != 0.0).count();
        assert!(nonzero > 20, "{nonzero} buckets used");
        assert_eq!(hash(b'u', &[b"bike"]), PINNED_BIKE_HASH);
        assert_ne!(hash(b'u', &[b"bike"]), hash(b't', &[b"bike"]));
    }

    #[test]
    fn embeddings_are_unit_length_even_for_empty_and_odd_text() {
        for text in [
            "",
            "   ",
            "!!!",
            "a",
            "Hello",
            "日本語のテキストです",
            "🚲🚲🚲 bike",
            &"word ".repeat(5000),
        ] {
            let v = e().embed_one(text);
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "{text:?}: norm {norm}");
            assert!(v.iter().all(|x| x.is_finite()));
        }
    }

    #[tokio::test]
    async fn batch_embedding_matches_single_and_keeps_order() {
        let texts = vec!["one bike".to_string(), "two sofas".to_string()];
        let out = e().embed(&texts).await.expect("offline never fails");
        assert_eq!(out.vectors.len(), 2);
        assert_eq!(out.vectors[0], e().embed_one("one bike"));
        assert_eq!(out.vectors[1], e().embed_one("two sofas"));
        assert_eq!(out.usage, Usage::default());
    }

    #[test]
    fn near_duplicates_score_above_unrelated_texts() {
        let a = "Hi, is the Trek FX 3 hybrid bike still available? Would you take $400?";
        let near = "Hi is the Trek FX3 hybrid bike still available?? would you take 400";
        let unrelated = "The two-bedroom apartment on Elm St: are pets allowed in the lease?";
        let s_near = sim(a, near);
        let s_far = sim(a, unrelated);
        assert!(s_near > 0.7, "near-duplicate {s_near}");
        assert!(s_far < 0.3, "unrelated {s_far}");
        assert!(s_near > s_far + 0.4);
    }

    #[test]
    fn a_planted_paraphrase_beats_unrelated_texts() {
        let query = "Is the espresso machine still for sale? Can I pick it up Saturday?";
        let corpus = [
            "Any scratches or dents on the sectional sofa?",
            "Would you take $8000 for the Toyota RAV4?",
            "Is the parking spot downtown still free from next month?",
            "Hello, is your espresso machine still for sale? Could I pick it up on Saturday?",
            "Can you send more pictures of the walnut dresser?",
            "My brother has a truck so transport of the washer is not a problem.",
        ];
        let best = corpus
            .iter()
            .enumerate()
            .max_by(|a, b| sim(query, a.1).total_cmp(&sim(query, b.1)))
            .map(|(i, _)| i);
        assert_eq!(best, Some(3));
        // Character trigrams forgive typos.
        assert!(sim("espresso machine", "expresso machnie") > sim("espresso machine", "sofa"));
    }

    fn example(id: i64, score: f32, lead: &str, subject: &str, reply: &str) -> Example {
        Example {
            conversation_id: id,
            score,
            inbound: String::new(),
            reply: reply.into(),
            lead_name: lead.into(),
            subject: subject.into(),
        }
    }

    fn request(examples: Vec<Example>) -> DraftRequest {
        DraftRequest {
            conversation_id: 99,
            lead_name: "Omar Haddad".into(),
            subject: "Roland FP-30 digital piano - $520".into(),
            rep_name: "Sam".into(),
            thread: vec![ThreadMessage {
                inbound: true,
                from: "omar@example.com".into(),
                text: "Hi, is the Roland FP-30 digital piano still available? Thanks!".into(),
            }],
            examples,
        }
    }

    const REPLY: &str = "Hi Maria, thanks for reaching out! Yes, the Yamaha FG800 acoustic guitar is still available. The price is $160, and it's in very good condition. Would you like to come and see it Saturday around 2pm? — Dana";

    #[test]
    fn retrieval_adapts_name_item_price_and_signature() {
        let req = request(vec![example(
            7,
            0.82,
            "Maria Garcia",
            "Yamaha FG800 acoustic guitar - $160",
            REPLY,
        )]);
        let d = RetrievalDrafter::new("hashed-lexical-384").draft_now(&req);
        assert_eq!(
            d.reply,
            "Hi Omar, thanks for reaching out! Yes, the Roland FP-30 digital piano is still available. The price is $520, and it's in very good condition. Would you like to come and see it Saturday around 2pm? — Sam"
        );
        assert_eq!(d.context["drafter"], "retrieval");
        assert_eq!(d.context["based_on"][0]["conversation_id"], 7);
        assert_eq!(d.context["based_on"][0]["score"], 0.82);
        assert!(d.context.get("check").is_none(), "{}", d.context);
        assert_eq!(d.sentiment.as_deref(), Some("positive"));
        assert_eq!(d.model, "retrieval/hashed-lexical-384");
    }

    #[test]
    fn amounts_the_subject_cannot_back_up_are_flagged() {
        let mut req = request(vec![example(
            7,
            0.82,
            "Maria Garcia",
            "Question about the Yamaha FG800 acoustic guitar",
            REPLY,
        )]);
        req.subject = "Inquiry: Roland FP-30 digital piano".into();
        let d = RetrievalDrafter::new("x").draft_now(&req);
        assert!(d.reply.contains("the Roland FP-30 digital piano is"));
        assert_eq!(d.context["check"], json!(["$160"]));
        let mut clean = req.clone();
        clean.subject = "Roland FP-30 digital piano - $520".into();
        clean.examples[0].subject = "Yamaha FG800 acoustic guitar - $160".into();
        let c = RetrievalDrafter::new("x").draft_now(&clean);
        assert!(d.confidence < c.confidence);
    }

    #[test]
    fn signatures_after_a_sign_off_line_are_replaced() {
        assert_eq!(
            sign("Hi Ana,\n\nYes it is.\n\nThanks,\nDana Cruz", "Sam Patel"),
            "Hi Ana,\n\nYes it is.\n\nThanks,\nSam Patel"
        );
        assert_eq!(sign("Yes, still here.", "Sam"), "Yes, still here. — Sam");
        assert_eq!(sign("Yes. — Dana", ""), "Yes.");
        // A sentence after a dash is not a signature.
        assert_eq!(
            sign("Price is firm — sorry about that.", "Sam"),
            "Price is firm — sorry about that. — Sam"
        );
    }

    #[test]
    fn subjects_give_their_item_and_price() {
        assert_eq!(
            item_of("Re: 2016 Ford F-150 XLT - $21500"),
            ("2016 Ford F-150 XLT".into(), Some("$21500".into()))
        );
        assert_eq!(
            item_of("Question about the Weber Spirit II gas grill"),
            ("Weber Spirit II gas grill".into(), None)
        );
        assert_eq!(
            item_of("Inquiry: standing desk (electric, 60 in)"),
            ("standing desk (electric, 60 in)".into(), None)
        );
        assert_eq!(item_of(""), (String::new(), None));
        assert_eq!(amounts("$1,100. Or $90, $ and $x"), vec!["$1,100", "$90"]);
    }

    #[test]
    fn names_are_replaced_as_whole_words_only() {
        assert_eq!(
            replace_phrase("Hi Will, Willow will call. Will?", "Will", "Tom", false),
            "Hi Tom, Willow will call. Tom?"
        );
        assert_eq!(replace_phrase("ünï Ana ü", "Ana", "Bo", false), "ünï Bo ü");
        assert_eq!(
            replace_phrase("the TREK bike", "trek bike", "Sofa", true),
            "the Sofa"
        );
        assert_eq!(first_name("  Dr. "), "Dr");
        assert_eq!(first_name("lead@example.com"), "");
    }

    #[test]
    fn no_examples_gives_a_short_holding_reply_with_low_confidence() {
        let d = RetrievalDrafter::new("x").draft_now(&request(vec![]));
        assert!(d.confidence <= 0.3);
        assert_eq!(
            d.reply,
            "Hi Omar, thanks for your message about the Roland FP-30 digital piano. I'll check and get back to you shortly. — Sam"
        );
        assert_eq!(d.context["based_on"], json!([]));
        // An example about something else entirely is no better.
        let far = RetrievalDrafter::new("x").draft_now(&request(vec![example(
            1,
            0.05,
            "Ana",
            "Sofa",
            "Hi Ana, sold. — Dana",
        )]));
        assert!(far.confidence <= 0.3);
        assert!(far.reply.starts_with("Hi Omar, thanks for your message"));
        assert_eq!(far.context["based_on"], json!([]));
    }

    #[test]
    fn confidence_orders_sensibly() {
        let d = RetrievalDrafter::new("x");
        let same = |id, score| {
            example(
                id,
                score,
                "Maria",
                "Yamaha FG800 acoustic guitar - $160",
                REPLY,
            )
        };
        let other = |id, score, reply: &str| {
            example(id, score, "Wei", "KitchenAid stand mixer - $210", reply)
        };
        let agreeing = d.draft_now(&request(vec![same(1, 0.85), same(2, 0.8), same(3, 0.78)]));
        let disagreeing = d.draft_now(&request(vec![
            same(1, 0.85),
            other(2, 0.8, "Hi Wei, sorry, I can't go down to $150. — Alex"),
            other(
                3,
                0.78,
                "Thanks Wei! Confirmed for Friday at 6pm at the library. — Jordan",
            ),
        ]));
        let single = d.draft_now(&request(vec![same(1, 0.85)]));
        let weak = d.draft_now(&request(vec![same(1, 0.35), same(2, 0.3), same(3, 0.3)]));
        let none = d.draft_now(&request(vec![]));
        assert!(
            agreeing.confidence > disagreeing.confidence,
            "{agreeing:?} {disagreeing:?}"
        );
        assert!(agreeing.confidence > single.confidence);
        assert!(single.confidence > none.confidence);
        assert!(agreeing.confidence > weak.confidence);
        assert!(weak.confidence > none.confidence);
        for c in [
            agreeing.confidence,
            disagreeing.confidence,
            single.confidence,
            weak.confidence,
        ] {
            assert!((MIN_CONFIDENCE..=MAX_CONFIDENCE).contains(&c));
        }
        assert!(agreeing.confidence >= 0.8, "{}", agreeing.confidence);
        // Unordered input is ranked by score.
        let shuffled = d.draft_now(&request(vec![
            other(5, 0.4, "Hi Wei, sold, sorry. — Alex"),
            same(6, 0.9),
        ]));
        assert_eq!(shuffled.context["based_on"][0]["conversation_id"], 6);
        assert!(
            shuffled
                .reply
                .starts_with("Hi Omar, thanks for reaching out!")
        );
    }

    #[test]
    fn sentiment_from_lexical_cues() {
        assert_eq!(sentiment_of("Great, thanks! See you then."), "positive");
        assert_eq!(sentiment_of("Is the price negotiable?"), "neutral");
        assert_eq!(
            sentiment_of("This is ridiculous, the photos were a scam. I want a refund."),
            "negative"
        );
        assert_eq!(sentiment_of("Not interested anymore."), "negative");
        assert_eq!(sentiment_of(""), "neutral");
    }
}

#[cfg(test)]
mod demo_like {
    use super::super::ThreadMessage;
    use super::*;

    /// Demo-shaped history (assets/demo.toml templates): the lexical
    /// embedder finds the past thread asking the same thing, and the draft
    /// adapted from it is worth a rep's `a`.
    #[test]
    fn a_demo_shaped_inbox_gets_useful_drafts() {
        let e = HashedLexicalEmbedder::default();
        let history = [
            (
                1,
                "Maria Garcia",
                "Yamaha FG800 acoustic guitar - $160",
                "Hi, is the Yamaha FG800 acoustic guitar still available? Would you take $120 for it? Thanks!",
                "Hi Maria, it's still available. I can do $140 if you can pick it up this week. Let me know what day works. — Dana",
            ),
            (
                2,
                "Wei Zhang",
                "Question about the grey 3-seat sectional sofa",
                "Good morning, I'm writing about the grey 3-seat sectional sofa you listed. Any scratches, dents or issues I should know about?",
                "Hello Wei, thanks for your interest in the grey 3-seat sectional sofa. There are a couple of small scuffs but everything works perfectly. I'm happy to send more photos. — Alex",
            ),
            (
                3,
                "Lucas Silva",
                "Sony WH-1000XM4 headphones - $180",
                "Hey, interested in the Sony WH-1000XM4 headphones. Still have it? Could I come see it Saturday around 2pm?",
                "Hi Lucas, Saturday at 2pm works. We can meet at the library on Main St. Cash or transfer are both fine. See you then! — Sam",
            ),
            (
                4,
                "Emma Johnson",
                "Weber Spirit II gas grill - $280",
                "Hi, is the Weber Spirit II gas grill still available? Would you take $200 for it? Cheers",
                "Hi Emma, it's still available. I can do $250 if you can pick it up this week. Let me know what day works. — Jordan",
            ),
        ];
        let inbound = "Hi, is the Roland FP-30 digital piano still available? Would you take $450 for it? Thanks, Omar";
        let q = e.embed_one(inbound);
        let mut examples: Vec<Example> = history
            .iter()
            .map(|(id, lead, subject, msg, reply)| Example {
                conversation_id: *id,
                score: cosine(&q, &e.embed_one(msg)),
                inbound: (*msg).into(),
                reply: (*reply).into(),
                lead_name: (*lead).into(),
                subject: (*subject).into(),
            })
            .collect();
        examples.sort_by(|a, b| b.score.total_cmp(&a.score));
        let ids: Vec<i64> = examples.iter().map(|x| x.conversation_id).collect();
        assert_eq!(
            &ids[..2],
            &[1, 4],
            "the same question ranks first: {examples:?}"
        );
        let req = DraftRequest {
            conversation_id: 9,
            lead_name: "Omar Haddad".into(),
            subject: "Roland FP-30 digital piano - $520".into(),
            rep_name: "Riley".into(),
            thread: vec![ThreadMessage {
                inbound: true,
                from: "omar@example.com".into(),
                text: inbound.into(),
            }],
            examples,
        };
        let d = RetrievalDrafter::new("hashed-lexical-384").draft_now(&req);
        assert_eq!(
            d.reply,
            "Hi Omar, it's still available. I can do $140 if you can pick it up this week. Let me know what day works. — Riley"
        );
        // The offer came from another thread: flagged, and confidence held
        // back, but the draft is still a good start.
        assert_eq!(d.context["check"], json!(["$140"]));
        assert!((0.5..0.8).contains(&d.confidence), "{}", d.confidence);
        assert_eq!(d.context["agreement"], json!(0.92), "{}", d.context);
        assert_eq!(
            d.context["based_on"],
            json!([{"conversation_id": 1, "score": 0.47}, {"conversation_id": 4, "score": 0.33}])
        );
    }
}
