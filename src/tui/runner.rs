//! Executes effects on tokio tasks, each with its own pooled client, and
//! sends the results back as actions. Nothing here touches the screen; the
//! one effect that needs the terminal ($EDITOR) is handled by `mod.rs`.

use super::app::{Action, Done, Effect, Failure};
use super::clean;
use super::drafts::Drafts;
use crate::db::{self, DbError, Pool, Rep};
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

#[derive(Clone)]
pub struct Runner {
    pub pool: Pool,
    pub rep: Rep,
    pub undo_window: Duration,
    pub drafts: Drafts,
    pub tx: UnboundedSender<Action>,
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
            Effect::LoadCounts { req, owner } => self.job(req, move |c, _| async move {
                let counts = db::conversations::counts(&**c, owner).await?;
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
