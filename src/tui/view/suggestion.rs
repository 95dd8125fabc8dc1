//! The draft: its text, confidence (number and bar), sentiment, what it was
//! based on, and where it stands (pending, or who decided).

use super::wrap::wrap;
use super::{spinner, when};
use crate::db::SuggestionStatus;
use crate::db::suggestions::Suggestion;
use crate::tui::app::{Focus, State};
use crate::tui::clean;
use crate::tui::keys::Command;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use serde_json::Value;

/// `████████░░` for 0.8.
pub fn bar(confidence: f32, cells: usize) -> String {
    let filled = ((confidence.clamp(0.0, 1.0) * cells as f32).round() as usize).min(cells);
    format!("{}{}", "█".repeat(filled), "░".repeat(cells - filled))
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.2}"),
            _ => n.to_string(),
        }),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// One compact item: `#123 (0.91)` for objects with an id and a score, or
/// the first few `key value` pairs.
fn item(v: &Value) -> String {
    if let Some(s) = scalar(v) {
        return s;
    }
    match v {
        Value::Object(m) => {
            let id = ["conversation_id", "id", "message_id", "suggestion_id"]
                .iter()
                .find_map(|k| m.get(*k).and_then(scalar));
            let score = ["score", "similarity", "distance"]
                .iter()
                .find_map(|k| m.get(*k).and_then(scalar));
            match (id, score) {
                (Some(id), Some(score)) => format!("#{id} ({score})"),
                (Some(id), None) => format!("#{id}"),
                _ => m
                    .iter()
                    .filter_map(|(k, v)| scalar(v).map(|s| format!("{k} {s}")))
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" "),
            }
        }
        Value::Array(a) => format!("{} items", a.len()),
        _ => String::new(),
    }
}

/// What the draft was based on, from its `context` JSON, in one short line.
pub fn context_summary(ctx: &Value) -> Option<String> {
    let Value::Object(map) = ctx else {
        return scalar(ctx).map(|s| clean::line(&s));
    };
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by_key(|k| match k.as_str() {
        "based_on" => 0,
        "similar" => 1,
        _ => 2,
    });
    let parts: Vec<String> = keys
        .into_iter()
        .filter_map(|k| {
            let v = map.get(k)?;
            let text = match v {
                Value::Array(a) if a.is_empty() => return None,
                Value::Array(a) => {
                    let shown: Vec<String> = a.iter().take(3).map(item).collect();
                    let more = if a.len() > 3 {
                        format!(" +{}", a.len() - 3)
                    } else {
                        String::new()
                    };
                    format!("{}{more}", shown.join(", "))
                }
                Value::Null => return None,
                other => item(other),
            };
            Some(format!("{}: {}", k.replace('_', " "), text))
        })
        .collect();
    (!parts.is_empty()).then(|| clean::line(&parts.join(" · ")))
}

fn decided_line(state: &State, s: &Suggestion) -> Option<String> {
    let who = s.decided_by.as_deref().map(clean::line);
    let at = s.decided_at.map(|t| when(t, state.wall, state.tz));
    let by = match (who, at) {
        (Some(w), Some(a)) => format!(" by {w} at {a}"),
        (Some(w), None) => format!(" by {w}"),
        (None, Some(a)) => format!(" at {a}"),
        (None, None) => String::new(),
    };
    match s.status {
        SuggestionStatus::Pending => None,
        SuggestionStatus::Rejected => {
            let reason = s.rejection_reason.map_or("", |r| r.label());
            let note = s
                .rejection_note
                .as_deref()
                .map(|n| format!(": “{}”", clean::line(n)))
                .unwrap_or_default();
            Some(format!("rejected ({reason}){by}{note}"))
        }
        SuggestionStatus::Superseded => Some("superseded by a newer message".to_string()),
        other => Some(format!("{}{by}", other.as_str())),
    }
}

fn lines(state: &State, width: usize) -> Vec<Line<'static>> {
    let t = &state.theme;
    let Some(loaded) = state.thread.current() else {
        return Vec::new();
    };
    let Some(s) = &loaded.suggestion else {
        return vec![
            Line::styled("No draft for this conversation.", t.muted),
            Line::from(""),
            Line::styled(
                format!(
                    "{} writes your own reply.",
                    state.keymap.hint(Command::Compose)
                ),
                t.muted,
            ),
        ];
    };
    let mut out = Vec::new();
    let mut head = vec![
        Span::styled(
            format!("{:.0}% ", (s.confidence.clamp(0.0, 1.0) * 100.0).round()),
            t.confidence(s.confidence),
        ),
        Span::styled(bar(s.confidence, 10), t.confidence(s.confidence)),
    ];
    if let Some(sent) = s.sentiment.as_deref().filter(|x| !x.is_empty()) {
        let sent = format!(" · {}", clean::line(sent));
        let used = 15;
        head.push(Span::styled(
            clean::fit(&sent, width.saturating_sub(used)),
            t.base,
        ));
    }
    out.push(Line::from(head));
    let mut about = Vec::new();
    if !s.model.is_empty() {
        about.push(format!("model {}", clean::line(&s.model)));
    }
    about.extend(context_summary(&s.context));
    if !about.is_empty() {
        for l in wrap(&about.join(" · "), width) {
            out.push(Line::styled(l, t.muted));
        }
    }
    if let Some(d) = decided_line(state, s) {
        let style = if s.status == SuggestionStatus::Rejected {
            t.warn
        } else {
            t.ok
        };
        for l in wrap(&d, width) {
            out.push(Line::styled(l, style));
        }
    }
    out.push(Line::from(""));
    let body = match (&s.final_body, s.status) {
        (Some(f), SuggestionStatus::Edited) => f,
        _ => &s.body,
    };
    for l in wrap(&clean::block(body), width) {
        out.push(Line::from(l));
    }
    out
}

pub fn line_count(state: &State, width: u16) -> usize {
    lines(state, width as usize).len()
}

fn hints(state: &State) -> String {
    let k = &state.keymap;
    format!(
        " {} approve · {} edit · {} reject · {} compose ",
        k.hint(Command::Approve),
        k.hint(Command::Edit),
        k.hint(Command::Reject),
        k.hint(Command::Compose)
    )
}

pub fn render(state: &State, f: &mut Frame, area: Rect) {
    let t = &state.theme;
    let focused = state.focus == Focus::Suggestion;
    let current = state.thread.current();
    let sugg = current.and_then(|l| l.suggestion.as_ref());
    let title = match sugg {
        Some(s) => format!(" Draft · {} ", s.status.as_str()),
        None => " Draft ".to_string(),
    };
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { t.border_focus } else { t.border })
        .title(Span::styled(title, t.title));
    if sugg.is_some_and(|s| s.status == SuggestionStatus::Pending) {
        let h = hints(state);
        if clean::width(&h) + 4 <= area.width as usize {
            block = block.title_bottom(Line::styled(h, t.muted));
        }
    }
    let inner = block.inner(area);
    f.render_widget(block, area);
    if current.is_none() {
        if state.inbox.selected_row().is_some() && state.busy().is_some() {
            f.render_widget(
                Paragraph::new(Line::styled(
                    format!("{} loading…", spinner(state)),
                    t.muted,
                )),
                inner,
            );
        }
        return;
    }
    let all = lines(state, inner.width as usize);
    let visible: Vec<Line> = all
        .into_iter()
        .skip(state.thread.sugg_scroll)
        .take(inner.height as usize)
        .collect();
    f.render_widget(Paragraph::new(visible), inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_is_compact() {
        let ctx = serde_json::json!({
            "similar": [{"conversation_id": 12, "score": 0.91}, {"conversation_id": 40, "score": 0.5}],
            "based_on": "reply to #12",
            "empty": [],
        });
        assert_eq!(
            context_summary(&ctx).as_deref(),
            Some("based on: reply to #12 · similar: #12 (0.91), #40 (0.50)")
        );
        assert_eq!(context_summary(&serde_json::json!({})), None);
        assert_eq!(bar(0.8, 10), "████████░░");
        assert_eq!(bar(7.0, 4), "████");
    }
}
