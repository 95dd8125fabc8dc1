//! Finding the team in the mail itself, before anything is written.
//!
//! A team's mailbox imported before its reps are registered has their
//! outbound mail From addresses replydesk does not know: read as inbound,
//! every rep would become a lead and a rep's outreach under one subject to
//! many leads would look like one lead's thread. So after reading, an
//! import looks at who writes to whom:
//!
//! - a sender that is not on the team is a **hub** when it wrote at least
//!   [`MIN_CORRESPONDENTS`] messages to at least [`MIN_CORRESPONDENTS`]
//!   distinct addresses (To and Cc; a reply is addressed to whom it
//!   answers, so this counts the senders it answers too) — leads write to
//!   the one or two people who answer them;
//! - but not when most of those it writes to are the team or other hubs:
//!   that is a lead (or a relay, like a classified-ad site) writing to the
//!   team;
//! - a domain is the team's when at least two hubs write from it and they
//!   are at least half of its senders (two reps on a webmail domain do not
//!   make its thousand leads the team).
//!
//! What is found is the team for this import (their mail is outbound, and
//! never a lead), is told before writing ([`super::Event::TeamFound`]), and
//! is remembered (`import_team_addresses`) so that later imports of a few
//! messages, too few to tell, treat the same senders the same way. Mail
//! whose record gives its direction (JSONL's `direction`) is taken as it
//! says and counts for nothing here.

use super::prepare::Team;
use std::collections::{HashMap, HashSet};

/// Messages, and distinct correspondents, that make a sender a hub.
pub const MIN_CORRESPONDENTS: usize = 5;

/// Who wrote to whom, by staged row, with addresses interned.
#[derive(Debug, Default)]
pub struct Evidence {
    ids: HashMap<String, u32>,
    names: Vec<String>,
    /// By row.
    from: Vec<u32>,
    /// By row: the end of its recipients in `recipients`.
    ends: Vec<u32>,
    recipients: Vec<u32>,
    /// By row: the record gave its direction.
    given: Vec<bool>,
}

impl Evidence {
    /// Note the next row's sender and recipients (addresses as readers
    /// yield them: bare, lowercased).
    pub fn push(&mut self, from: &str, to: &[String], given: bool) {
        let from = self.intern(from);
        self.from.push(from);
        for a in to {
            let id = self.intern(a);
            self.recipients.push(id);
        }
        self.ends.push(self.recipients.len() as u32);
        self.given.push(given);
    }

    /// Forget the last row noted (its record was not staged).
    pub fn pop(&mut self) {
        if self.from.pop().is_some() {
            self.ends.pop();
            self.given.pop();
            let end = self.ends.last().copied().unwrap_or(0) as usize;
            self.recipients.truncate(end);
        }
    }

    fn intern(&mut self, address: &str) -> u32 {
        let address = address.trim();
        if let Some(&id) = self.ids.get(address) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(address.to_owned());
        self.ids.insert(address.to_owned(), id);
        id
    }

    pub fn rows(&self) -> usize {
        self.from.len()
    }

    /// Row `row`'s sender, recipients and whether its direction was given.
    pub fn row(&self, row: usize) -> Option<(&str, Vec<&str>, bool)> {
        let from = *self.from.get(row)?;
        let start = if row == 0 { 0 } else { self.ends[row - 1] } as usize;
        let end = self.ends[row] as usize;
        let to = self.recipients[start..end]
            .iter()
            .map(|&id| self.names[id as usize].as_str())
            .collect();
        Some((self.names[from as usize].as_str(), to, self.given[row]))
    }

    fn recipients_of(&self, row: usize) -> &[u32] {
        let start = if row == 0 { 0 } else { self.ends[row - 1] } as usize;
        &self.recipients[start..self.ends[row] as usize]
    }
}

/// Senders found to be the team.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FoundTeam {
    /// Domains, each with the hubs that write from it, by name.
    pub domains: Vec<(String, Vec<String>)>,
    /// Hubs outside those domains, by address.
    pub addresses: Vec<String>,
}

impl FoundTeam {
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty() && self.addresses.is_empty()
    }

    /// How many senders were found.
    pub fn senders(&self) -> usize {
        self.addresses.len() + self.domains.iter().map(|(_, s)| s.len()).sum::<usize>()
    }

    /// As team entries: `@domain` for a domain.
    pub fn entries(&self) -> Vec<String> {
        self.domains
            .iter()
            .map(|(d, _)| format!("@{d}"))
            .chain(self.addresses.iter().cloned())
            .collect()
    }

    /// Add it to `team`.
    pub fn add_to(&self, team: &mut Team) {
        for entry in self.entries() {
            team.add(&entry);
        }
    }
}

/// The senders of `evidence` that are the team but not in `team` yet.
pub fn detect(evidence: &Evidence, team: &Team) -> FoundTeam {
    let n = evidence.names.len();
    let on_team: Vec<bool> = evidence.names.iter().map(|a| team.contains(a)).collect();
    let mut sent = vec![0usize; n];
    let mut pairs: HashSet<(u32, u32)> = HashSet::new();
    for row in 0..evidence.rows() {
        let from = evidence.from[row];
        if evidence.given[row] || on_team[from as usize] {
            continue;
        }
        sent[from as usize] += 1;
        for &to in evidence.recipients_of(row) {
            if to != from {
                pairs.insert((from, to));
            }
        }
    }
    let mut correspondents: HashMap<u32, Vec<u32>> = HashMap::new();
    for (from, to) in pairs {
        correspondents.entry(from).or_default().push(to);
    }
    let hubs: HashSet<u32> = correspondents
        .iter()
        .filter(|(from, to)| {
            sent[**from as usize] >= MIN_CORRESPONDENTS && to.len() >= MIN_CORRESPONDENTS
        })
        .map(|(from, _)| *from)
        .collect();
    let hubs: Vec<u32> = hubs
        .iter()
        .copied()
        .filter(|h| {
            let to = &correspondents[h];
            let inside = to
                .iter()
                .filter(|c| on_team[**c as usize] || hubs.contains(c))
                .count();
            inside * 2 < to.len()
        })
        .collect();
    let domain_of = |id: u32| {
        evidence.names[id as usize]
            .rsplit_once('@')
            .map(|(_, d)| d)
            .filter(|d| !d.is_empty())
    };
    let mut senders_at: HashMap<&str, usize> = HashMap::new();
    for (id, &count) in sent.iter().enumerate() {
        if count > 0
            && let Some(d) = domain_of(id as u32)
        {
            *senders_at.entry(d).or_default() += 1;
        }
    }
    let mut hubs_at: HashMap<&str, Vec<String>> = HashMap::new();
    let mut found = FoundTeam::default();
    for &h in &hubs {
        let address = evidence.names[h as usize].clone();
        match domain_of(h) {
            Some(d) => hubs_at.entry(d).or_default().push(address),
            None => found.addresses.push(address),
        }
    }
    for (domain, mut senders) in hubs_at {
        let all = senders_at.get(domain).copied().unwrap_or(0);
        if senders.len() >= 2 && senders.len() * 2 >= all {
            senders.sort();
            found.domains.push((domain.to_owned(), senders));
        } else {
            found.addresses.extend(senders);
        }
    }
    found.domains.sort();
    found.addresses.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(mail: &[(&str, &[&str])]) -> Evidence {
        let mut e = Evidence::default();
        for (from, to) in mail {
            let to: Vec<String> = to.iter().map(|s| s.to_string()).collect();
            e.push(from, &to, false);
        }
        e
    }

    /// `reps` reps at `domain`, each writing to `leads` leads of its own,
    /// who answer.
    fn team_mail(domain: &str, reps: usize, leads: usize) -> Vec<(String, String)> {
        let mut mail = Vec::new();
        for r in 0..reps {
            let rep = format!("rep{r}@{domain}");
            for l in 0..leads {
                let lead = format!("lead{r}x{l}@lead{}.example", l % 3);
                mail.push((rep.clone(), lead.clone()));
                mail.push((lead, rep.clone()));
            }
        }
        mail
    }

    fn detect_in(mail: &[(String, String)], team: &Team) -> FoundTeam {
        let pairs: Vec<(&str, Vec<&str>)> = mail
            .iter()
            .map(|(f, t)| (f.as_str(), vec![t.as_str()]))
            .collect();
        let refs: Vec<(&str, &[&str])> = pairs.iter().map(|(f, t)| (*f, t.as_slice())).collect();
        detect(&evidence(&refs), team)
    }

    #[test]
    fn reps_writing_to_many_leads_are_found_with_their_domain() {
        let found = detect_in(
            &team_mail("sales.northgate.example", 24, 6),
            &Team::default(),
        );
        assert_eq!(found.domains.len(), 1);
        assert_eq!(found.domains[0].0, "sales.northgate.example");
        assert_eq!(found.domains[0].1.len(), 24);
        assert!(found.addresses.is_empty(), "{found:?}");
        assert_eq!(found.senders(), 24);
    }

    #[test]
    fn a_lone_rep_is_an_address_and_too_few_correspondents_are_nobody() {
        let found = detect_in(&team_mail("shop.example", 1, 5), &Team::default());
        assert_eq!(found.addresses, vec!["rep0@shop.example".to_string()]);
        assert!(found.domains.is_empty());
        assert!(detect_in(&team_mail("shop.example", 3, 4), &Team::default()).is_empty());
    }

    #[test]
    fn two_reps_on_webmail_do_not_make_its_leads_the_team() {
        let mut mail = team_mail("mail.example", 2, 8);
        for l in 0..20 {
            mail.push((
                format!("someone{l}@mail.example"),
                "rep0@mail.example".into(),
            ));
        }
        let found = detect_in(&mail, &Team::default());
        assert!(found.domains.is_empty());
        assert_eq!(found.addresses.len(), 2);
    }

    #[test]
    fn known_reps_and_a_relay_writing_to_them_are_not_found() {
        let mut mail = team_mail("shop.example", 6, 6);
        for r in 0..6 {
            mail.push(("relay@ads.example".into(), format!("rep{r}@shop.example")));
        }
        let team = Team::new((0..6).map(|r| format!("rep{r}@shop.example")), &[]);
        assert!(detect_in(&mail, &team).is_empty());
        let unregistered = detect_in(&mail, &Team::default());
        assert_eq!(unregistered.domains.len(), 1);
        assert!(
            unregistered.addresses.is_empty(),
            "the relay writes to the hubs: {unregistered:?}"
        );
    }

    #[test]
    fn a_given_direction_counts_for_nothing() {
        let mut e = Evidence::default();
        for l in 0..8 {
            e.push("rep@shop.example", &[format!("lead{l}@x.example")], true);
        }
        assert!(detect(&e, &Team::default()).is_empty());
    }
}
