//! The live feed: one dedicated connection doing `LISTEN replydesk`, turned
//! into actions. It doubles as the health signal: when it drops, the app is
//! offline; it reconnects by itself with backoff and, once back, the app
//! resyncs (notifications sent meanwhile are lost by design).

use super::app::{Action, Notice};
use crate::db::NOTIFY_CHANNEL;
use crate::db::pool::DbConfig;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// How often the idle connection is checked (a silent network drop).
const HEALTH_EVERY: Duration = Duration::from_secs(5);
const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

/// Parse a NOTIFY payload; anything unexpected asks for a resync.
pub fn parse_notice(payload: &str) -> Notice {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(payload) else {
        return Notice {
            conversations: Vec::new(),
            resync: true,
        };
    };
    let resync = v.get("resync").and_then(|r| r.as_bool()).unwrap_or(false);
    let conversations: Vec<i64> = v
        .get("conversations")
        .and_then(|c| c.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_i64()).collect())
        .unwrap_or_default();
    Notice {
        resync: resync || (conversations.is_empty() && v.get("conversations").is_none()),
        conversations,
    }
}

fn backoff(attempt: u32) -> Duration {
    let secs = [0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0];
    Duration::from_secs_f64(secs[(attempt as usize).min(secs.len() - 1)])
}

/// Run until the receiving side is gone.
pub async fn run(db: DbConfig, tx: UnboundedSender<Action>) {
    let mut attempt: u32 = 0;
    let mut was_down = false;
    loop {
        match listen_once(&db, &tx).await {
            Ok(Ended::AppGone) => return,
            Ok(Ended::ConnectionLost(why)) | Err(why) => {
                if tx.send(Action::ListenerDown(why)).is_err() {
                    return;
                }
                if was_down {
                    attempt = attempt.saturating_add(1);
                } else {
                    attempt = 0;
                }
                was_down = true;
            }
        }
        tokio::time::sleep(backoff(attempt)).await;
        if tx.is_closed() {
            return;
        }
    }
}

enum Ended {
    AppGone,
    ConnectionLost(String),
}

async fn listen_once(db: &DbConfig, tx: &UnboundedSender<Action>) -> Result<Ended, String> {
    let (client, mut notes) = db.connect_dedicated().await.map_err(|e| e.to_string())?;
    client
        .batch_execute(&format!("LISTEN {NOTIFY_CHANNEL}"))
        .await
        .map_err(|e| crate::db::DbError::from(e).to_string())?;
    if tx.send(Action::ListenerUp).is_err() {
        return Ok(Ended::AppGone);
    }
    let mut health = tokio::time::interval(HEALTH_EVERY);
    health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    health.tick().await;
    loop {
        tokio::select! {
            n = notes.recv() => match n {
                Some(n) if n.channel() == NOTIFY_CHANNEL => {
                    if tx.send(Action::Notified(parse_notice(n.payload()))).is_err() {
                        return Ok(Ended::AppGone);
                    }
                }
                Some(_) => {}
                None => return Ok(Ended::ConnectionLost("the live connection closed".into())),
            },
            _ = health.tick() => {
                if tx.is_closed() {
                    return Ok(Ended::AppGone);
                }
                match tokio::time::timeout(HEALTH_TIMEOUT, client.simple_query("")).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        return Ok(Ended::ConnectionLost(crate::db::DbError::from(e).to_string()))
                    }
                    Err(_) => return Ok(Ended::ConnectionLost("the database stopped answering".into())),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads() {
        let n = parse_notice(r#"{"table":"conversations","conversations":[1,2,3]}"#);
        assert_eq!(n.conversations, vec![1, 2, 3]);
        assert!(!n.resync);
        assert!(parse_notice(r#"{"table":"suggestions","resync":true}"#).resync);
        assert!(parse_notice("not json").resync);
        assert!(parse_notice(r#"{"table":"x"}"#).resync);
    }
}
