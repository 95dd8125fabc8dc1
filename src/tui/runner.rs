//! Executes effects on tokio tasks, each with its own pooled client, and
//! sends the results back as actions. Nothing here touches the screen; the
//! one effect that needs the terminal ($EDITOR) is handled by `mod.rs`.

use super::app::{Action, Done, Effect, Failure};
use super::clean;
use super::drafts::Drafts;
use super::search::RESULTS;
use super::similar::{SIMILAR_K, Similars};
use crate::ai::Embedder;
use crate::db::conversations::{ConversationRow, Cursor, InboxQuery, Page};
use crate::db::embeddings::SimilarFilter;
use crate::db::{self, DbError, Pool, Rep};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How long a search waits for the embedding model before it goes on with
/// full text only.
const EMBED_BUDGET: Duration = Duration::from_secs(3);
use tokio::sync::mpsc::UnboundedSender;

#[derive(Clone)]
pub struct Runner {
    pub pool: Pool,
    pub rep: Rep,
    pub undo_window: Duration,
    pub drafts: Drafts,
    pub tx: UnboundedSender<Action>,
    /// The configured embedding model (similar, search), or why there is none.
    pub embedder: Result<Arc<dyn Embedder>, String>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Runner")
    }
}

pub fn failure(e: &DbError) -> Failure {
    Failure {
        message: e.to_string(),
        connection_lost: e.is_connection_lost(),
        refresh: matches!(
            e,
            DbError::AlreadyDecided(_)
                | DbError::Superseded
                | DbError::NotFound { .. }
                | DbError::UndoTooLate(_)
                | DbError::AlreadyClaimed { .. }
        ),
    }
}

impl Runner {
    /// Run one database job on its own task; its answer comes back as an action.
    fn job<F, Fut>(&self, req: u64, f: F)
    where
        F: FnOnce(db::pool::Client, Runner) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Action, DbError>> + Send + 'static,
    {
        let this = self.clone();
        let tx = self.tx.clone();
        let job = tokio::spawn(async move {
            let result = match db::pool::client(&this.pool).await {
                Ok(client) => f(client, this).await,
                Err(e) => Err(e),
            };
            result.unwrap_or_else(|e| Action::Failed {
                req,
                failure: failure(&e),
            })
        });
        // A job that panics still answers, so nothing waits for it forever.
        tokio::spawn(async move {
            let action = job.await.unwrap_or_else(|e| Action::Failed {
                req,
                failure: Failure {
                    message: format!("internal error ({e}); try again or press R"),
                    connection_lost: false,
                    refresh: false,
                },
            });
            let _ = tx.send(action);
        });
    }

    /// Start an effect. `Quit` and `ExternalEditor` are the caller's.
    pub fn spawn(&self, effect: Effect) {
        match effect {
            Effect::LoadPage {
                req,
                query,
                page,
                limit,
            } => self.job(req, move |c, _| async move {
                let rows = db::conversations::page(&c, &query, page, limit).await?;
                Ok(Action::PageLoaded { req, rows })
            }),
            Effect::LoadCounts {
                req,
                owner,
                unassigned,
            } => self.job(req, move |c, _| async move {
                let counts = db::conversations::counts_for(&**c, owner, unassigned).await?;
                Ok(Action::CountsLoaded { req, counts })
            }),
            Effect::LoadThread {
                req,
                conv_id,
                limit,
            } => self.job(req, move |c, _| async move {
                let mut thread = db::messages::thread(&c, conv_id, None, limit).await?;
                thread.messages.iter_mut().for_each(clean::prepare_message);
                let suggestion = db::suggestions::latest(&c, conv_id).await?;
                Ok(Action::ThreadLoaded {
                    req,
                    conv_id,
                    thread: Box::new(thread),
                    suggestion: suggestion.map(Box::new),
                })
            }),
            Effect::LoadOlder {
                req,
                conv_id,
                before_seq,
                limit,
            } => self.job(req, move |c, _| async move {
                let mut t = db::messages::thread(&c, conv_id, Some(before_seq), limit).await?;
                t.messages.iter_mut().for_each(clean::prepare_message);
                Ok(Action::OlderLoaded {
                    req,
                    conv_id,
                    messages: t.messages,
                    has_older: t.has_older,
                })
            }),
            Effect::LoadRows { req, ids } => self.job(req, move |c, _| async move {
                let rows = db::conversations::get_many(&c, &ids).await?;
                Ok(Action::RowsLoaded { req, ids, rows })
            }),
            Effect::Approve { req, suggestion_id } => self.job(req, move |mut c, r| async move {
                let d =
                    db::suggestions::approve(&mut c, suggestion_id, &r.rep, r.undo_window).await?;
                Ok(Action::Decided {
                    req,
                    done: Done::Approved(d),
                })
            }),
            Effect::ApproveEdited {
                req,
                suggestion_id,
                body,
            } => self.job(req, move |mut c, r| async move {
                let d = db::suggestions::approve_edited(
                    &mut c,
                    suggestion_id,
                    &r.rep,
                    &body,
                    r.undo_window,
                )
                .await?;
                Ok(Action::Decided {
                    req,
                    done: Done::Approved(d),
                })
            }),
            Effect::Reject {
                req,
                suggestion_id,
                reason,
                note,
            } => self.job(req, move |mut c, r| async move {
                let conv_id =
                    db::suggestions::reject(&mut c, suggestion_id, &r.rep, reason, note.as_deref())
                        .await?;
                Ok(Action::Decided {
                    req,
                    done: Done::Rejected { conv_id, reason },
                })
            }),
            Effect::Compose { req, conv_id, body } => self.job(req, move |mut c, r| async move {
                let d =
                    db::suggestions::compose(&mut c, conv_id, &r.rep, &body, r.undo_window).await?;
                Ok(Action::Decided {
                    req,
                    done: Done::Composed(d),
                })
            }),
            Effect::Undo { req, outbox_id } => self.job(req, move |mut c, r| async move {
                let u = db::suggestions::undo(&mut c, outbox_id, &r.rep).await?;
                Ok(Action::Decided {
                    req,
                    done: Done::Undone(u),
                })
            }),
            Effect::Archive { req, conv_id } => self.job(req, move |mut c, r| async move {
                let changed = db::conversations::archive(&mut c, conv_id, r.rep.id).await?;
                Ok(Action::Decided {
                    req,
                    done: Done::Archived { conv_id, changed },
                })
            }),
            Effect::Unarchive { req, conv_id } => self.job(req, move |mut c, r| async move {
                let status = db::conversations::unarchive(&mut c, conv_id, r.rep.id).await?;
                Ok(Action::Decided {
                    req,
                    done: Done::Unarchived { conv_id, status },
                })
            }),
            Effect::Claim { req, conv_id } => self.job(req, move |mut c, r| async move {
                db::conversations::claim(&mut c, conv_id, &r.rep).await?;
                Ok(Action::Decided {
                    req,
                    done: Done::Claimed { conv_id },
                })
            }),
            Effect::LoadStats { req, since } => self.job(req, move |mut c, _| async move {
                let stats = db::stats::compute(&mut c, since, None).await?;
                Ok(Action::StatsLoaded {
                    req,
                    stats: Box::new(stats),
                })
            }),
            Effect::LoadSimilar { req, conv_id } => self.job(req, move |mut c, r| async move {
                let e = match r.embedder {
                    Ok(e) => e,
                    Err(why) => {
                        return Ok(Action::Failed {
                            req,
                            failure: Failure {
                                message: format!("no embedding model: {why}"),
                                connection_lost: false,
                                refresh: false,
                            },
                        });
                    }
                };
                let found = similar_to(&mut c, &*e, conv_id).await?;
                Ok(Action::SimilarLoaded { req, found })
            }),
            Effect::Search { req, text, filter } => self.job(req, move |mut c, r| async move {
                let query = match crate::query::parse(&text, chrono::Utc::now()) {
                    Ok(q) => q,
                    Err(message) => {
                        return Ok(Action::Failed {
                            req,
                            failure: Failure {
                                message,
                                connection_lost: false,
                                refresh: false,
                            },
                        });
                    }
                };
                // Only words are embedded; operators alone need no vector.
                let (vector, mut note) = if query.text.trim().is_empty() {
                    (None, None)
                } else {
                    query_vector(&c, &r.embedder, &query.text).await
                };
                let name = r.embedder.as_ref().map_or("", |e| e.name()).to_string();
                let dims = vector.as_ref().map_or(0, Vec::len);
                let mut request = db::search::Request {
                    query: &query,
                    filter,
                    me: Some(r.rep.id),
                    vector: vector.as_deref().map(|vector| db::search::QueryVector {
                        vector,
                        model: &name,
                        dims,
                    }),
                    limit: RESULTS,
                };
                let found = match db::search::search(&mut c, &request).await {
                    Ok(found) => found,
                    Err(e) if request.vector.is_some() && !e.is_connection_lost() => {
                        note = Some(format!("semantic search failed ({e}) — full text only"));
                        request.vector = None;
                        db::search::search(&mut c, &request).await?
                    }
                    Err(e) => return Err(e),
                };
                Ok(Action::SearchLoaded {
                    req,
                    results: found.results,
                    matched: found.matched,
                    meaning: found.meaning,
                    note,
                })
            }),
            Effect::LoadAround {
                req,
                conv_id,
                query,
                limit,
            } => self.job(req, move |c, _| async move {
                // Any answer but a lost connection lets the list recover
                // (an empty page says "not in your list").
                let rows = match around(&c, &query, conv_id, limit).await {
                    Ok(rows) => rows,
                    Err(e) if e.is_connection_lost() => return Err(e),
                    Err(_) => Vec::new(),
                };
                Ok(Action::AroundLoaded { req, conv_id, rows })
            }),
            Effect::Probe { req } => self.job(req, move |c, _| async move {
                c.simple_query("SELECT 1").await.map_err(DbError::from)?;
                Ok(Action::ProbeOk { req })
            }),
            Effect::LoadDraft { conv_id } => {
                let (drafts, tx) = (self.drafts.clone(), self.tx.clone());
                tokio::task::spawn_blocking(move || {
                    let text = drafts.load(conv_id).ok().flatten();
                    let _ = tx.send(Action::DraftLoaded { conv_id, text });
                });
            }
            Effect::SaveDraft { conv_id, text } => {
                let (drafts, tx) = (self.drafts.clone(), self.tx.clone());
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = drafts.save(conv_id, &text) {
                        let _ = tx.send(Action::DraftSaveFailed(e.to_string()));
                    }
                });
            }
            Effect::DeleteDraft { conv_id } => {
                let drafts = self.drafts.clone();
                tokio::task::spawn_blocking(move || {
                    let _ = drafts.delete(conv_id);
                });
            }
            Effect::ExternalEditor { .. } | Effect::Quit => {}
        }
    }

    /// Write a draft now (on the way out, when no task would finish).
    pub fn save_draft_now(&self, conv_id: i64, text: &str) {
        let _ = self.drafts.save(conv_id, text);
    }
}

/// The neighbours of a conversation for the configured model. A model with
/// no fixed dimension (a served one, `embedding_dimensions = 0`) uses the
/// one it was registered with; never registered means nothing is embedded.
async fn similar_to(
    c: &mut tokio_postgres::Client,
    e: &dyn Embedder,
    conv_id: i64,
) -> Result<Similars, DbError> {
    let name = e.name();
    let dims = match e.dimensions() {
        0 => db::embeddings::models(&*c)
            .await?
            .into_iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, d)| usize::try_from(d).ok()),
        d => Some(d),
    };
    let Some(dims) = dims else {
        return Ok(Similars::NotEmbedded);
    };
    let found =
        db::embeddings::similar(c, conv_id, name, dims, SIMILAR_K, SimilarFilter::default())
            .await?;
    if found.is_empty()
        && db::embeddings::latest_inbound_vector(&*c, conv_id, name)
            .await?
            .is_none()
    {
        return Ok(Similars::NotEmbedded);
    }
    Ok(Similars::Found(found))
}

/// The query's embedding, or why there is none (search goes on with full
/// text). A served model's call is recorded in `ai_runs`; the offline one
/// calls nothing.
async fn query_vector(
    c: &tokio_postgres::Client,
    embedder: &Result<Arc<dyn Embedder>, String>,
    text: &str,
) -> (Option<Vec<f32>>, Option<String>) {
    let e = match embedder {
        Ok(e) => e,
        Err(why) => {
            return (
                None,
                Some(format!("semantic search is off ({why}) — full text only")),
            );
        }
    };
    let texts = [text.to_string()];
    let call = async {
        if e.provider() == "offline" {
            e.embed(&texts).await.map_err(|err| err.to_string())
        } else {
            crate::ai::recorded_embed(c, &**e, &texts)
                .await
                .map_err(|err| err.to_string())
        }
    };
    match tokio::time::timeout(EMBED_BUDGET, call).await {
        Ok(Ok(out)) => match out.vectors.into_iter().next() {
            Some(v) if !v.is_empty() => (Some(v), None),
            _ => (
                None,
                Some("the embedding model answered nothing — full text only".into()),
            ),
        },
        Ok(Err(why)) => (
            None,
            Some(format!("semantic search failed ({why}) — full text only")),
        ),
        Err(_) => (
            None,
            Some(format!(
                "the embedding model took over {}s — full text only",
                EMBED_BUDGET.as_secs()
            )),
        ),
    }
}

/// A page of the list starting at `conv_id` (empty when it is not found).
async fn around(
    c: &tokio_postgres::Client,
    query: &InboxQuery,
    conv_id: i64,
    limit: i64,
) -> Result<Vec<ConversationRow>, DbError> {
    let found = db::conversations::get_many(c, &[conv_id]).await?;
    let Some(row) = found.into_iter().next() else {
        return Ok(Vec::new());
    };
    let page = Page::After(Cursor {
        last_message_at: row.last_message_at,
        id: row.id.saturating_add(1),
    });
    db::conversations::page(c, query, page, limit).await
}
