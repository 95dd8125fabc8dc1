//! Threading a batch in memory: which conversation each message joins.
//!
//! 1. **Headers and keys.** A union-find over the messages and the ids they
//!    name: a message joins its own Message-ID, its In-Reply-To and every
//!    References id, so a reply read before its parent, or two replies to
//!    a parent missing from the input, still meet. A JSONL conversation
//!    key overrides headers: a keyed message joins its key, and a keyed
//!    message's references are not followed. A set may be *anchored* to one
//!    existing conversation (an id or key the database already has) or to
//!    one new key; two sets anchored differently are never merged (the
//!    first link in input order wins), so headers never fuse two stored
//!    conversations.
//! 2. **Subject and participants.** Sets anchored to nothing join a
//!    conversation of the same lead with the same normalized subject whose
//!    activity is within the window of theirs (an existing one, a keyed
//!    one, or one started earlier in this batch), else start one. Sets are
//!    taken oldest first, so a thread that pauses longer than the window
//!    starts a new conversation when it resumes.

use super::subject;
use crate::db::Direction;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

/// What threading knows about one message to import.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// What replies name it by: its Message-ID, else its external id.
    pub id: String,
    pub in_reply_to: Option<String>,
    /// Oldest first.
    pub references: Vec<String>,
    /// The conversation key scoped by source (see [`super::scoped_key`]).
    pub key: Option<String>,
    pub direction: Direction,
    /// The lead's address (From of inbound mail, the first recipient who
    /// is not on the team for outbound); `None` when there is none.
    pub lead: Option<String>,
    /// As [`subject::normalize`] leaves it.
    pub subject: String,
    pub sent_at: DateTime<Utc>,
}

/// A conversation already in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Existing {
    pub id: i64,
    pub lead_id: i64,
}

/// An existing conversation the subject fallback may join.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub conversation: Existing,
    /// The lead's address, lowercased.
    pub lead: String,
    /// The conversation's subject, as stored (normalized here).
    pub subject: String,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
}

/// What the database already holds about the batch's ids, keys and leads.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// Message-ID (or external id) of a stored message → its conversation.
    pub messages: HashMap<String, Existing>,
    /// Scoped conversation key → its conversation.
    pub keys: HashMap<String, Existing>,
    /// Conversations of the batch's leads.
    pub candidates: Vec<Candidate>,
}

/// Where a conversation of the result lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Existing(Existing),
    New,
}

/// One conversation the batch adds messages to.
#[derive(Debug, Clone, PartialEq)]
pub struct Thread {
    pub target: Target,
    /// For a new keyed conversation.
    pub key: Option<String>,
    /// The lead's address, for a new conversation (always set for those).
    pub lead: Option<String>,
    /// Indices into the input, by `sent_at` then input order.
    pub members: Vec<usize>,
}

/// The result: the conversations, and the messages no lead could be told
/// for (neither threaded to a stored conversation nor carrying a lead
/// address), which cannot be imported.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Threads {
    pub threads: Vec<Thread>,
    pub leadless: Vec<usize>,
}

/// Thread `messages` against what the database `known`s, joining by
/// subject within `window`.
pub fn thread(messages: &[Message], known: &Known, window: Duration) -> Threads {
    let sets = link(messages, known);
    let components = components(messages, sets);
    group(messages, known, components, window)
}

#[derive(Debug, Clone, PartialEq)]
enum Anchor<'a> {
    Existing(Existing),
    Key(&'a str),
}

/// Union-find whose sets carry an anchor.
struct Sets<'a> {
    parent: Vec<u32>,
    anchor: Vec<Option<Anchor<'a>>>,
}

impl<'a> Sets<'a> {
    fn add(&mut self, anchor: Option<Anchor<'a>>) -> usize {
        let n = self.parent.len();
        self.parent.push(n as u32);
        self.anchor.push(anchor);
        n
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] as usize != x {
            let up = self.parent[self.parent[x] as usize];
            self.parent[x] = up;
            x = up as usize;
        }
        x
    }

    /// Merge the sets of `a` and `b` unless they are anchored differently.
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        let anchor = match (&self.anchor[ra], &self.anchor[rb]) {
            (Some(x), Some(y)) if x != y => return,
            (Some(x), _) => Some(x.clone()),
            (None, y) => y.clone(),
        };
        self.parent[rb] = ra as u32;
        self.anchor[ra] = anchor;
    }
}

/// Step 1: the messages' sets by ids and keys.
fn link<'a>(messages: &'a [Message], known: &Known) -> Sets<'a> {
    let mut sets = Sets {
        parent: Vec::with_capacity(messages.len() * 2),
        anchor: Vec::with_capacity(messages.len() * 2),
    };
    for _ in messages {
        sets.add(None);
    }
    let mut ids: HashMap<&'a str, usize> = HashMap::with_capacity(messages.len() * 2);
    let mut keys: HashMap<&'a str, usize> = HashMap::new();
    let mut id_node = |sets: &mut Sets<'a>, id: &'a str| {
        *ids.entry(id)
            .or_insert_with(|| sets.add(known.messages.get(id).copied().map(Anchor::Existing)))
    };
    for (i, m) in messages.iter().enumerate() {
        if let Some(key) = m.key.as_deref() {
            let node = *keys.entry(key).or_insert_with(|| {
                let anchor = match known.keys.get(key) {
                    Some(e) => Anchor::Existing(*e),
                    None => Anchor::Key(key),
                };
                sets.add(Some(anchor))
            });
            sets.union(i, node);
            let own = id_node(&mut sets, &m.id);
            sets.union(i, own);
            continue;
        }
        let own = id_node(&mut sets, &m.id);
        sets.union(i, own);
        // The most direct link first: In-Reply-To, then the newest reference.
        for parent in m.in_reply_to.iter().chain(m.references.iter().rev()) {
            let node = id_node(&mut sets, parent);
            sets.union(i, node);
        }
    }
    sets
}

/// A set of linked messages.
struct Component<'a> {
    anchor: Option<Anchor<'a>>,
    /// By `sent_at`, then input order.
    members: Vec<usize>,
}

impl Component<'_> {
    fn span(&self, messages: &[Message]) -> (DateTime<Utc>, DateTime<Utc>) {
        let first = self.members.first().map(|&i| messages[i].sent_at);
        let last = self.members.last().map(|&i| messages[i].sent_at);
        (first.unwrap_or_default(), last.unwrap_or_default())
    }

    /// The lead: that of its oldest message that names one.
    fn lead<'m>(&self, messages: &'m [Message]) -> Option<&'m str> {
        self.members
            .iter()
            .find_map(|&i| messages[i].lead.as_deref())
    }
}

/// The sets as lists of messages, in order of their first message in the input.
fn components<'a>(messages: &[Message], mut sets: Sets<'a>) -> Vec<Component<'a>> {
    let mut index_of_root: HashMap<usize, usize> = HashMap::new();
    let mut out: Vec<Component<'a>> = Vec::new();
    for i in 0..messages.len() {
        let root = sets.find(i);
        let k = *index_of_root.entry(root).or_insert_with(|| {
            out.push(Component {
                anchor: sets.anchor[root].clone(),
                members: Vec::new(),
            });
            out.len() - 1
        });
        out[k].members.push(i);
    }
    for c in &mut out {
        c.members.sort_by(|&a, &b| {
            messages[a]
                .sent_at
                .cmp(&messages[b].sent_at)
                .then(a.cmp(&b))
        });
    }
    out
}

/// A conversation being assembled, with the time span of its activity.
struct Group {
    thread: Thread,
    first_at: DateTime<Utc>,
    last_at: DateTime<Utc>,
}

impl Group {
    fn overlaps(&self, from: DateTime<Utc>, to: DateTime<Utc>, window: Duration) -> bool {
        from <= self.last_at + window && to >= self.first_at - window
    }

    fn absorb(&mut self, members: &[usize], from: DateTime<Utc>, to: DateTime<Utc>) {
        self.thread.members.extend_from_slice(members);
        self.first_at = self.first_at.min(from);
        self.last_at = self.last_at.max(to);
    }
}

/// The groups being built, findable by anchor and by (lead, subject).
#[derive(Default)]
struct Groups {
    all: Vec<Group>,
    by_conversation: HashMap<i64, usize>,
    by_key: HashMap<String, usize>,
    by_topic: HashMap<(String, String), Vec<usize>>,
}

impl Groups {
    fn push(&mut self, group: Group, topic: Option<(String, String)>) -> usize {
        let g = self.all.len();
        match group.thread.target {
            Target::Existing(e) => {
                self.by_conversation.insert(e.id, g);
            }
            Target::New => {
                if let Some(key) = &group.thread.key {
                    self.by_key.insert(key.clone(), g);
                }
            }
        }
        if let Some(topic) = topic {
            self.by_topic.entry(topic).or_default().push(g);
        }
        self.all.push(group);
        g
    }

    /// The group of a topic whose activity meets `from..to` within the
    /// window; of several, the most recently active.
    fn matching(
        &self,
        topic: &(String, String),
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        window: Duration,
    ) -> Option<usize> {
        self.by_topic
            .get(topic)?
            .iter()
            .copied()
            .filter(|&g| self.all[g].overlaps(from, to, window))
            .max_by_key(|&g| (self.all[g].last_at, std::cmp::Reverse(g)))
    }
}

/// Step 2: anchored sets go to their conversation; the rest join by
/// subject and lead, oldest first.
fn group(
    messages: &[Message],
    known: &Known,
    components: Vec<Component<'_>>,
    window: Duration,
) -> Threads {
    let mut groups = Groups::default();
    for c in &known.candidates {
        let topic = (c.lead.clone(), subject::normalize(&c.subject));
        let group = Group {
            thread: Thread {
                target: Target::Existing(c.conversation),
                key: None,
                lead: None,
                members: Vec::new(),
            },
            first_at: c.first_at,
            last_at: c.last_at,
        };
        if !groups.by_conversation.contains_key(&c.conversation.id) {
            groups.push(group, Some(topic));
        }
    }
    let mut loose = Vec::new();
    for c in components {
        let (from, to) = c.span(messages);
        match &c.anchor {
            Some(Anchor::Existing(e)) => {
                let g = match groups.by_conversation.get(&e.id) {
                    Some(&g) => g,
                    None => groups.push(new_group(Target::Existing(*e), None, None, from), None),
                };
                groups.all[g].absorb(&c.members, from, to);
            }
            Some(Anchor::Key(key)) => {
                let lead = c.lead(messages).map(str::to_owned);
                let topic = lead.clone().map(|l| (l, first_subject(messages, &c)));
                let group = new_group(Target::New, Some(key.to_string()), lead, from);
                let g = groups.push(group, topic);
                groups.all[g].absorb(&c.members, from, to);
            }
            None => loose.push(c),
        }
    }
    loose.sort_by_key(|c| (c.span(messages).0, c.members.first().copied()));
    let mut leadless = Vec::new();
    for c in loose {
        let (from, to) = c.span(messages);
        let Some(lead) = c.lead(messages) else {
            leadless.extend_from_slice(&c.members);
            continue;
        };
        let topic = (lead.to_owned(), first_subject(messages, &c));
        let g = match groups.matching(&topic, from, to, window) {
            Some(g) => g,
            None => {
                let group = new_group(Target::New, None, Some(lead.to_owned()), from);
                groups.push(group, Some(topic))
            }
        };
        groups.all[g].absorb(&c.members, from, to);
    }
    finish(messages, groups, leadless)
}

fn new_group(
    target: Target,
    key: Option<String>,
    lead: Option<String>,
    at: DateTime<Utc>,
) -> Group {
    Group {
        thread: Thread {
            target,
            key,
            lead,
            members: Vec::new(),
        },
        first_at: at,
        last_at: at,
    }
}

fn first_subject(messages: &[Message], c: &Component<'_>) -> String {
    c.members
        .first()
        .map(|&i| messages[i].subject.clone())
        .unwrap_or_default()
}

/// Drop empty groups, order each thread's members, and refuse new
/// conversations without a lead.
fn finish(messages: &[Message], groups: Groups, mut leadless: Vec<usize>) -> Threads {
    let mut threads = Vec::new();
    for mut g in groups.all {
        if g.thread.members.is_empty() {
            continue;
        }
        if g.thread.target == Target::New && g.thread.lead.is_none() {
            leadless.extend_from_slice(&g.thread.members);
            continue;
        }
        g.thread.members.sort_by(|&a, &b| {
            messages[a]
                .sent_at
                .cmp(&messages[b].sent_at)
                .then(a.cmp(&b))
        });
        threads.push(g.thread);
    }
    leadless.sort_unstable();
    Threads { threads, leadless }
}

#[cfg(test)]
mod tests;
