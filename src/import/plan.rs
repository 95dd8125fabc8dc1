//! From threads to what each partition writes: new leads and conversations
//! (with their ids and final state), and where every message goes.

use super::prepare::Kept;
use super::thread::{Message, Target, Thread, Threads};
use crate::db::import::{NewConversation, NewLead, Partition, PlanRow};
use crate::db::{ConversationStatus, Direction};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// The leads the threads need that do not exist yet, in order of first use.
pub fn new_lead_addresses(threads: &Threads, known_leads: &HashMap<String, i64>) -> Vec<String> {
    let mut seen = HashMap::new();
    let mut out = Vec::new();
    for t in threads.threads.iter().filter(|t| t.target == Target::New) {
        if let Some(lead) = &t.lead
            && !known_leads.contains_key(lead)
            && seen.insert(lead.clone(), ()).is_none()
        {
            out.push(lead.clone());
        }
    }
    out
}

/// How many new conversations the threads make.
pub fn new_conversation_count(threads: &Threads) -> usize {
    threads
        .threads
        .iter()
        .filter(|t| t.target == Target::New)
        .count()
}

/// Everything [`build`] needs besides the threads.
pub struct Inputs<'a> {
    /// By thread input index.
    pub messages: &'a [Message],
    /// By row number.
    pub kept: &'a [Kept],
    /// Row number of each thread input.
    pub rows: &'a [usize],
    pub known_leads: &'a HashMap<String, i64>,
    /// Ids for [`new_lead_addresses`], in that order.
    pub new_lead_ids: &'a [i64],
    /// Ids for the new conversations, in thread order.
    pub new_conversation_ids: &'a [i64],
    pub channel: &'a str,
    pub partitions: usize,
}

/// Split the threads into `partitions` partitions by lead.
pub fn build(threads: &Threads, inputs: &Inputs<'_>, new_leads: &[String]) -> Vec<Partition> {
    let n = inputs.partitions.max(1);
    let mut parts = vec![Partition::default(); n];
    let lead_ids: HashMap<&str, i64> = new_leads
        .iter()
        .map(String::as_str)
        .zip(inputs.new_lead_ids.iter().copied())
        .collect();
    let mut threads_of: HashMap<&str, Vec<&Thread>> = HashMap::new();
    for t in threads.threads.iter().filter(|t| t.target == Target::New) {
        if let Some(lead) = t.lead.as_deref() {
            threads_of.entry(lead).or_default().push(t);
        }
    }
    let mut created_leads: HashMap<&str, ()> = HashMap::new();
    let mut conversation_ids = inputs.new_conversation_ids.iter().copied();
    for t in &threads.threads {
        let (conversation_id, p) = match t.target {
            Target::Existing(e) => {
                let p = bucket(&e.lead_id, n);
                parts[p].existing.push(e.id);
                (e.id, p)
            }
            Target::New => {
                let lead = t.lead.as_deref().unwrap_or_default();
                let p = bucket(&lead, n);
                let lead_id = match inputs.known_leads.get(lead) {
                    Some(&id) => id,
                    None => {
                        let id = lead_ids.get(lead).copied().unwrap_or_default();
                        if created_leads.insert(lead, ()).is_none() {
                            let of_lead = threads_of.get(lead).map_or(&[][..], Vec::as_slice);
                            parts[p].leads.push(new_lead(of_lead, inputs, lead, id));
                        }
                        id
                    }
                };
                let id = conversation_ids.next().unwrap_or_default();
                parts[p]
                    .conversations
                    .push(new_conversation(t, inputs, id, lead_id));
                (id, p)
            }
        };
        for (rank, &m) in t.members.iter().enumerate() {
            parts[p].rows.push(PlanRow {
                row_no: inputs.rows[m] as i64,
                conversation_id,
                rank: rank as i32 + 1,
                direction: inputs.messages[m].direction,
            });
        }
    }
    for part in &mut parts {
        part.existing.sort_unstable();
        part.existing.dedup();
    }
    parts.retain(|p| !p.rows.is_empty());
    parts
}

fn bucket(key: &impl Hash, n: usize) -> usize {
    let mut h = std::hash::DefaultHasher::new();
    key.hash(&mut h);
    (h.finish() % n as u64) as usize
}

/// A conversation's state from its (time-ordered) messages.
fn new_conversation(t: &Thread, inputs: &Inputs<'_>, id: i64, lead_id: i64) -> NewConversation {
    let at = |m: &usize| inputs.messages[*m].sent_at;
    let last_of = |dir: Direction| {
        t.members
            .iter()
            .rev()
            .find(|&&m| inputs.messages[m].direction == dir)
            .map(at)
    };
    let first = t.members.first().copied().unwrap_or_default();
    let last = t.members.last().copied().unwrap_or_default();
    let status = match inputs.messages[last].direction {
        Direction::Inbound => ConversationStatus::NeedsReply,
        Direction::Outbound => ConversationStatus::Waiting,
    };
    NewConversation {
        id,
        lead_id,
        channel: inputs.channel.to_string(),
        subject: inputs.kept[inputs.rows[first]].subject.clone(),
        status,
        message_count: t.members.len().min(i32::MAX as usize) as i32,
        last_message_at: at(&last),
        last_inbound_at: last_of(Direction::Inbound),
        last_outbound_at: last_of(Direction::Outbound),
        created_at: at(&first),
        external_key: t.key.clone(),
    }
}

/// A new lead's details from the first of its messages that carry them:
/// JSONL's lead name, else the display name of mail it sent; its phone; the
/// source of its first message.
fn new_lead(threads: &[&Thread], inputs: &Inputs<'_>, address: &str, id: i64) -> NewLead {
    let members = threads.iter().flat_map(|t| t.members.iter().copied());
    let mut name = None;
    let mut sender_name = None;
    let mut phone = None;
    let mut source = None;
    for m in members {
        let kept = &inputs.kept[inputs.rows[m]];
        source.get_or_insert_with(|| kept.source.clone());
        if name.is_none() {
            name = kept.lead_name.clone().filter(|n| !n.trim().is_empty());
        }
        if phone.is_none() {
            phone = kept.lead_phone.clone().filter(|p| !p.trim().is_empty());
        }
        let msg = &inputs.messages[m];
        if sender_name.is_none()
            && msg.direction == Direction::Inbound
            && msg.lead.as_deref() == Some(address)
        {
            sender_name = kept.from_name.clone().filter(|n| !n.trim().is_empty());
        }
    }
    NewLead {
        id,
        email: address.to_string(),
        name: name.or(sender_name).unwrap_or_default(),
        phone,
        source: source.unwrap_or_default(),
    }
}
