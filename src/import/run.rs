//! One run of an import, phase by phase: stage, find the team, lock,
//! thread, plan, merge, build the deferred indexes, write the events,
//! analyze, and record what was read.

use super::load::{self, Loaded, Staged};
use super::prepare::{self, Team};
use super::source::Incremental;
use super::team::{self, Evidence};
use super::thread::{self, Known, Threads};
use super::{
    ANALYZED_TABLES, Event, ImportError, ImportOptions, ImportReport, Phase, Progress, Timings,
    needs_analyze, plan,
};
use crate::db::import::{self as dbi, IdTable, Merged, Partition, Staging, Types, sources};
use crate::db::migrate::{self, SchemaState};
use crate::db::pool::DbConfig;
use crate::db::{DbError, Direction};
use crate::mail::Item;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

/// The callback a run tells its progress and findings through.
pub(super) type Events = Arc<dyn Fn(Event) + Send + Sync>;

/// Import every item; `events` is called as the run advances.
pub async fn import(
    db: &DbConfig,
    items: Box<dyn Iterator<Item = Item> + Send>,
    opts: &ImportOptions,
    events: impl Fn(Event) + Send + Sync + 'static,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let control = connect(db).await?;
    run_on(db, &control, items, opts, Arc::new(events), None, started).await
}

/// The run's control session, once the schema is known to be current.
pub(super) async fn connect(db: &DbConfig) -> Result<tokio_postgres::Client, ImportError> {
    let control = dbi::session(db).await?;
    match migrate::check(&control).await? {
        SchemaState::Current => Ok(control),
        SchemaState::Empty => Err(DbError::SchemaBehind {
            pending: migrate::MIGRATIONS.len(),
        }
        .into()),
        SchemaState::Behind { pending } => Err(DbError::SchemaBehind { pending }.into()),
    }
}

/// Import every item on `control`; record what `incremental` read once
/// the merge committed.
pub(super) async fn run_on(
    db: &DbConfig,
    control: &tokio_postgres::Client,
    items: Box<dyn Iterator<Item = Item> + Send>,
    opts: &ImportOptions,
    events: Events,
    incremental: Option<Incremental>,
    started: Instant,
) -> Result<ImportReport, ImportError> {
    dbi::stage::drop_stale(control).await?;
    let stage = Staging::named(dbi::backend_pid(control).await?);
    stage.create(control).await?;
    let run = Run {
        db,
        control,
        stage: &stage,
        opts,
        events,
    };
    let result = run.run(items, incremental, started).await;
    let dropped = stage.drop_table(control).await;
    let mut report = result?;
    dropped?;
    report.timings.total = started.elapsed().as_secs_f64();
    Ok(report)
}

/// One run's context.
struct Run<'a> {
    db: &'a DbConfig,
    control: &'a tokio_postgres::Client,
    stage: &'a Staging,
    opts: &'a ImportOptions,
    events: Events,
}

impl Run<'_> {
    fn progress(&self, progress: Progress) {
        (self.events)(Event::Progress(progress));
    }

    async fn run(
        &self,
        items: Box<dyn Iterator<Item = Item> + Send>,
        incremental: Option<Incremental>,
        started: Instant,
    ) -> Result<ImportReport, ImportError> {
        let types = Types::load(self.control).await?;
        let mut team = Team::new(
            dbi::rep_addresses(self.control).await?,
            &self.opts.team_addresses,
        )
        .with_domains(&self.opts.team_domains);
        if self.opts.detect_team {
            for entry in sources::team_found(self.control).await? {
                team.add(&entry);
            }
        }
        let how = Staged {
            db: self.db,
            stage: self.stage,
            types: &types,
            team: team.clone(),
            streams: self.opts.streams.max(1),
            check_stored: !dbi::messages_below(self.control, 1).await?,
            evidence: self.opts.detect_team,
        };
        let events = self.events.clone();
        let progress = Arc::new(move |p| events(Event::Progress(p)));
        let mut loaded = load::load(how, items, progress).await?;
        let mut report = ImportReport {
            timings: Timings {
                read: started.elapsed().as_secs_f64(),
                ..Timings::default()
            },
            ..ImportReport::default()
        };
        if self.opts.detect_team {
            let found = team::detect(&loaded.evidence, &team);
            if !found.is_empty() {
                found.add_to(&mut team);
                apply_team(&mut loaded, &team);
                (self.events)(Event::TeamFound(found.clone()));
                report.team_found = found;
            }
            loaded.evidence = Evidence::default();
        }
        let waited = Instant::now();
        dbi::lock_imports(self.control).await?;
        report.timings.wait = waited.elapsed().as_secs_f64();
        let result = self.locked(loaded, &types, &mut report, incremental).await;
        let unlocked = dbi::unlock_imports(self.control).await;
        result?;
        unlocked?;
        Ok(report)
    }

    /// Everything under the import lock: late duplicates, threading, merge,
    /// index, event.
    async fn locked(
        &self,
        mut loaded: Loaded,
        types: &Types,
        report: &mut ImportReport,
        incremental: Option<Incremental>,
    ) -> Result<(), ImportError> {
        let started = Instant::now();
        for row_no in dbi::stage::stored_since(self.control, self.stage).await? {
            loaded.duplicate(row_no);
        }
        let (threads, messages, rows) = self.thread(&mut loaded).await?;
        for &m in &threads.leadless {
            loaded.reject(
                rows[m],
                "no lead address (From of inbound mail, a recipient outside the team of outbound mail) and no thread to join".into(),
            );
        }
        let parts = self.plan(&threads, &messages, &rows, &loaded).await?;
        // Millions of small strings: freed on a blocking thread while the
        // merge runs, not after it.
        let garbage = (threads, messages, rows, std::mem::take(&mut loaded.kept));
        tokio::task::spawn_blocking(move || drop(garbage));
        report.timings.thread = started.elapsed().as_secs_f64();
        self.merge_and_index(parts, types, report).await?;
        report.read = loaded.read;
        report.duplicates += loaded.duplicates;
        loaded.rejected.sort_by_key(|(index, _)| *index);
        report.rejected = loaded.rejected.into_iter().map(|(_, r)| r).collect();
        // Notes of records that were not imported (duplicates) are no news.
        report.notes = loaded
            .notes
            .into_iter()
            .filter(|(row, _, _)| !loaded.skip.get(*row).copied().unwrap_or(true))
            .map(|(_, position, note)| (position, note))
            .collect();
        // What was read is recorded only now that it is committed.
        let source_id = match incremental {
            Some(incremental) => match incremental.finish(report)? {
                Some(record) => {
                    Some(sources::record(self.control, incremental.key(), &record).await?)
                }
                None => None,
            },
            None => None,
        };
        sources::remember_team(self.control, &report.team_found.entries(), source_id).await?;
        self.record(report, started).await
    }

    /// Look up what the database holds and thread (on a blocking thread).
    async fn thread(
        &self,
        loaded: &mut Loaded,
    ) -> Result<(Threads, Vec<thread::Message>, Vec<usize>), ImportError> {
        self.progress(Progress {
            phase: Phase::Thread,
            done: 0,
            total: 0,
        });
        let all = std::mem::take(&mut loaded.messages);
        let (messages, rows) = if loaded.skip.contains(&true) {
            all.into_iter()
                .enumerate()
                .filter(|(row, _)| !loaded.skip[*row])
                .map(|(row, m)| (m, row))
                .unzip()
        } else {
            let rows = (0..all.len()).collect();
            (all, rows)
        };
        let known = self.known(&messages).await?;
        let window = self.opts.thread_window;
        let threaded = tokio::task::spawn_blocking(move || {
            let threads = thread::thread(&messages, &known, window);
            (threads, messages)
        })
        .await
        .map_err(|e| ImportError::Failed(format!("threading failed: {e}")))?;
        Ok((threaded.0, threaded.1, rows))
    }

    async fn known(&self, messages: &[thread::Message]) -> Result<Known, ImportError> {
        if !dbi::has_conversations(self.control).await? {
            return Ok(Known::default());
        }
        let keys: HashSet<&str> = messages.iter().filter_map(|m| m.key.as_deref()).collect();
        let keys: Vec<&str> = keys.into_iter().collect();
        let leads = lead_addresses(messages);
        Ok(Known {
            messages: dbi::known_messages(self.control, self.stage).await?,
            keys: dbi::known_keys(self.control, &keys).await?,
            candidates: dbi::candidates(self.control, &leads).await?,
        })
    }

    /// Ids for the new leads and conversations, then the partitions.
    async fn plan(
        &self,
        threads: &Threads,
        messages: &[thread::Message],
        rows: &[usize],
        loaded: &Loaded,
    ) -> Result<Vec<Partition>, ImportError> {
        let wanted: Vec<&str> = threads
            .threads
            .iter()
            .filter_map(|t| t.lead.as_deref())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let known_leads = dbi::known_leads(self.control, &wanted).await?;
        let new_leads = plan::new_lead_addresses(threads, &known_leads);
        let lead_ids = dbi::allocate_ids(self.control, IdTable::Leads, new_leads.len()).await?;
        let conversation_ids = dbi::allocate_ids(
            self.control,
            IdTable::Conversations,
            plan::new_conversation_count(threads),
        )
        .await?;
        let planned = messages.len() - threads.leadless.len();
        let partitions = if planned >= self.opts.partition_min_rows {
            self.opts.streams.max(1)
        } else {
            1
        };
        let inputs = plan::Inputs {
            messages,
            kept: &loaded.kept,
            rows,
            known_leads: &known_leads,
            new_lead_ids: &lead_ids,
            new_conversation_ids: &conversation_ids,
            channel: &self.opts.channel,
            partitions,
        };
        Ok(plan::build(threads, &inputs, &new_leads))
    }

    /// Drop the deferred indexes for a large load, merge every partition at
    /// once, then build what is missing (also when a merge failed) while
    /// the events are written, and analyze what changed by a tenth.
    async fn merge_and_index(
        &self,
        parts: Vec<Partition>,
        types: &Types,
        report: &mut ImportReport,
    ) -> Result<(), ImportError> {
        let planned: usize = parts.iter().map(|p| p.rows.len()).sum();
        let appended: usize = parts.iter().map(|p| p.existing.len()).sum();
        let large = planned > 0 && dbi::messages_below(self.control, 2 * planned as i64).await?;
        let estimates = dbi::row_estimates(self.control, &ANALYZED_TABLES).await?;
        if large {
            dbi::drop_deferred_indexes(self.control).await?;
        }
        let started = Instant::now();
        report.partitions = parts.len();
        let merged = self.merge_all(parts, types, planned as u64).await;
        report.timings.merge = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let missing = dbi::missing_indexes(self.control).await?;
        report.rebuilt_search_index = missing.contains(&dbi::SEARCH_INDEX);
        let ids = merged.as_ref().ok().and_then(|m| {
            m.iter()
                .filter_map(|p| p.ids)
                .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
        });
        let mut changed: HashMap<&'static str, u64> = HashMap::new();
        if let Ok(merged) = &merged {
            let sum = |f: fn(&Merged) -> u64| merged.iter().map(f).sum::<u64>();
            changed.insert("messages", sum(|m| m.messages));
            changed.insert("conversations", sum(|m| m.conversations) + appended as u64);
            changed.insert("leads", sum(|m| m.leads));
            changed.insert("events", sum(|m| m.inbound));
        }
        let stale: Vec<&'static str> = ANALYZED_TABLES
            .into_iter()
            .filter(|t| {
                needs_analyze(
                    changed.get(t).copied().unwrap_or(0),
                    estimates.get(*t).copied(),
                )
            })
            .collect();
        self.finish(&missing, &stale, ids).await?;
        report.analyzed = stale;
        report.timings.index = started.elapsed().as_secs_f64();
        for m in merged? {
            report.imported += m.messages;
            report.inbound += m.inbound;
            report.duplicates += m.skipped;
            report.superseded += m.superseded;
            report.new_conversations += m.conversations;
            report.new_leads += m.leads;
        }
        Ok(())
    }

    /// After the merge: build the missing indexes (the GIN index, the
    /// longest, on the control connection; the others on a second one,
    /// which then writes the `message.received` events of the stored
    /// messages in `ids` and analyzes the `stale` tables but `messages`),
    /// then analyze `messages` if stale (its ANALYZE waits for its index
    /// builds anyway).
    async fn finish(
        &self,
        missing: &[&'static str],
        stale: &[&'static str],
        ids: Option<(i64, i64)>,
    ) -> Result<(), ImportError> {
        if !missing.is_empty() {
            self.progress(Progress {
                phase: Phase::Index,
                done: 0,
                total: missing.len() as u64,
            });
        }
        let others: Vec<&'static str> = missing
            .iter()
            .copied()
            .filter(|n| *n != dbi::SEARCH_INDEX)
            .collect();
        let helper_analyzes: Vec<&'static str> =
            stale.iter().copied().filter(|t| *t != "messages").collect();
        let helper = {
            let (db, stage) = (self.db.clone(), self.stage.clone());
            let run = self.run_label();
            tokio::spawn(async move {
                let client = dbi::session(&db).await?;
                for name in others {
                    dbi::build_index(&client, name).await?;
                }
                if let Some(ids) = ids {
                    dbi::record_received(&client, &stage, ids, &run).await?;
                }
                dbi::analyze(&client, &helper_analyzes).await?;
                Ok::<(), ImportError>(())
            })
        };
        let built = if missing.contains(&dbi::SEARCH_INDEX) {
            dbi::build_index(self.control, dbi::SEARCH_INDEX)
                .await
                .map_err(ImportError::from)
        } else {
            Ok(())
        };
        let helped = match helper.await {
            Ok(r) => r,
            Err(e) => Err(ImportError::Failed(format!("building indexes failed: {e}"))),
        };
        built.and(helped)?;
        if stale.contains(&"messages") {
            dbi::analyze(self.control, &["messages"]).await?;
        }
        Ok(())
    }

    /// What this run's events call it: the staging table's suffix.
    fn run_label(&self) -> String {
        self.stage
            .table
            .trim_start_matches(dbi::stage::PREFIX)
            .to_string()
    }

    /// Each partition on its own connection, all at once.
    async fn merge_all(
        &self,
        parts: Vec<Partition>,
        types: &Types,
        planned: u64,
    ) -> Result<Vec<Merged>, ImportError> {
        let mut tasks = Vec::with_capacity(parts.len());
        for part in parts {
            let (db, stage, types) = (self.db.clone(), self.stage.clone(), types.clone());
            tasks.push(tokio::spawn(async move {
                let mut client = dbi::session(&db).await?;
                let merged = dbi::merge(&mut client, &stage, &types, &part).await?;
                Ok::<_, ImportError>((merged, part.rows.len() as u64))
            }));
        }
        let mut done = 0;
        let mut out = Vec::new();
        let mut first_err = None;
        for t in tasks {
            match t.await {
                Ok(Ok((merged, rows))) => {
                    done += rows;
                    self.progress(Progress {
                        phase: Phase::Merge,
                        done,
                        total: planned,
                    });
                    out.push(merged);
                }
                Ok(Err(e)) => {
                    first_err.get_or_insert(e);
                }
                Err(e) => {
                    first_err.get_or_insert(ImportError::Failed(format!("a merge failed: {e}")));
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// The `import.completed` event.
    async fn record(&self, report: &ImportReport, started: Instant) -> Result<(), ImportError> {
        let details = serde_json::json!({
            "source": self.opts.label,
            "read": report.read,
            "imported": report.imported,
            "new_conversations": report.new_conversations,
            "new_leads": report.new_leads,
            "duplicates": report.duplicates,
            "rejected": report.rejected.len(),
            "repaired": report.repaired(),
            "superseded": report.superseded,
            "team_found": report.team_found.entries(),
            "analyzed": report.analyzed,
            "seconds": round1(report.timings.read + report.timings.wait + started.elapsed().as_secs_f64()),
        });
        dbi::record_completed(self.control, self.opts.rep.as_deref(), &details).await?;
        Ok(())
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Make the found team's mail outbound, and its addresses never a lead:
/// each message's direction and lead again, with `team` (whose mail is
/// outbound unless the record said otherwise).
fn apply_team(loaded: &mut Loaded, team: &Team) {
    let mut refused = Vec::new();
    for (row, m) in loaded.messages.iter_mut().enumerate() {
        let Some((from, to, given)) = loaded.evidence.row(row) else {
            break;
        };
        let outbound = if given {
            m.direction == Direction::Outbound
        } else {
            team.contains(from)
        };
        let direction = if outbound {
            Direction::Outbound
        } else {
            Direction::Inbound
        };
        let lead_on_team = outbound && m.lead.as_deref().is_some_and(|l| team.contains(l));
        if direction == m.direction && !lead_on_team {
            continue;
        }
        m.direction = direction;
        m.lead = prepare::lead_of(from, &to, direction, team);
        if let Some(lead) = &m.lead
            && lead.len() > prepare::MAX_ADDRESS_BYTES
        {
            refused.push((
                row,
                format!(
                    "the lead's address is {} bytes long, more than {}",
                    lead.len(),
                    prepare::MAX_ADDRESS_BYTES
                ),
            ));
        }
    }
    for (row, reason) in refused {
        loaded.reject(row, reason);
    }
}

/// The distinct lead addresses of `messages`.
fn lead_addresses(messages: &[thread::Message]) -> Vec<&str> {
    let set: HashSet<&str> = messages.iter().filter_map(|m| m.lead.as_deref()).collect();
    set.into_iter().collect()
}
