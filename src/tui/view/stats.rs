//! The stats overlay: the rep's and the team's headline numbers for the
//! last 30 days, a bar chart of drafts approved as-is per confidence bucket
//! (calibrated confidence climbs left to right) and decisions per day.

use super::{centered, spinner};
use crate::db::stats::{Stats, Summary};
use crate::ops::stats::{duration, percent};
use crate::tui::app::{State, StatsOverlay};
use crate::tui::clean;
use crate::tui::keys::Command;
use crate::tui::stats::WINDOW_DAYS;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Borders, Clear, Paragraph, Sparkline};

pub fn render(state: &State, o: &StatsOverlay, f: &mut Frame, area: Rect) {
    let t = &state.theme;
    let rect = centered(area, 78, 22);
    f.render_widget(Clear, rect);
    let hint = format!(
        " {} closes · {} reloads · `replydesk stats` for more ",
        state.keymap.hint(Command::Back),
        state.keymap.hint(Command::Refresh)
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(
            format!(" Stats · last {WINDOW_DAYS} days "),
            t.title,
        ))
        .title_bottom(Line::styled(
            clean::fit(&hint, rect.width.saturating_sub(2) as usize),
            t.muted,
        ));
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    let Some(stats) = &o.stats else {
        let line = match &o.error {
            Some(e) => Line::styled(clean::fit(e, inner.width as usize), t.error),
            None => Line::styled(format!("{} loading stats…", spinner(state)), t.muted),
        };
        f.render_widget(Paragraph::new(vec![Line::from(""), line]), inner);
        return;
    };
    let mine = stats
        .reps
        .iter()
        .find(|r| r.rep_id == Some(state.rep.id))
        .map(|r| &r.summary);
    let lines = headline(state, stats, mine, inner.width as usize);
    let [top, charts] =
        Layout::vertical([Constraint::Length(lines.len() as u16), Constraint::Min(0)]).areas(inner);
    f.render_widget(Paragraph::new(lines), top);
    if charts.height < 4 {
        return;
    }
    let [left, right] =
        Layout::horizontal([Constraint::Length(34), Constraint::Min(0)]).areas(charts);
    let bars: Vec<Bar> = stats
        .total
        .by_confidence
        .iter()
        .map(|b| {
            let pct = b.approval_rate.map_or(0, |r| (r * 100.0).round() as u64);
            Bar::default()
                .value(pct)
                .text_value(b.approval_rate.map_or("-".into(), |_| format!("{pct}%")))
                .label(Line::from(bucket_label(b.from, b.to)))
        })
        .collect();
    let chart = BarChart::default()
        .block(
            Block::default()
                .borders(Borders::TOP)
                .border_style(t.border)
                .title(Span::styled(" as-is by confidence ", t.title)),
        )
        .data(BarGroup::default().bars(&bars))
        .max(100)
        .bar_width(5)
        .bar_gap(1)
        .bar_style(t.accent)
        .value_style(t.selected)
        .label_style(t.muted);
    f.render_widget(chart, left);
    let per_day: Vec<u64> = stats
        .decisions_per_day
        .iter()
        .map(|d| d.decisions.max(0) as u64)
        .collect();
    let room = right.width.saturating_sub(1) as usize;
    let shown = &per_day[per_day.len().saturating_sub(room)..];
    let busiest = shown.iter().copied().max().unwrap_or(0);
    let spark = Sparkline::default()
        .block(
            Block::default()
                .borders(Borders::TOP)
                .border_style(t.border)
                .title(Span::styled(" decisions per day ", t.title))
                .title_bottom(Line::styled(format!(" busiest day {busiest} "), t.muted)),
        )
        .data(shown)
        .style(t.ok);
    f.render_widget(spark, right);
}

fn bucket_label(from: f64, to: f64) -> String {
    let short = |x: f64| {
        if x <= 0.0 {
            "0".to_string()
        } else if x >= 1.0 {
            "1".to_string()
        } else {
            format!("{x:.1}").trim_start_matches('0').to_string()
        }
    };
    format!("{}–{}", short(from), short(to))
}

/// The numbers a rep glances at: theirs next to the team's.
fn headline(
    state: &State,
    stats: &Stats,
    mine: Option<&Summary>,
    width: usize,
) -> Vec<Line<'static>> {
    let t = &state.theme;
    let label_w = 20;
    let col_w = width.saturating_sub(label_w) / 2;
    let you = format!("you ({})", clean::line(&state.rep.display_name));
    let mut lines = vec![Line::from(vec![
        Span::raw(clean::pad("", label_w)),
        Span::styled(
            clean::pad(&clean::fit(&you, col_w.saturating_sub(1)), col_w),
            t.title,
        ),
        Span::styled(clean::fit("team", col_w), t.title),
    ])];
    type Cell = fn(&Summary) -> String;
    let rows: [(&str, Cell); 8] = [
        ("replied", |s| {
            let r = &s.responses;
            format!("{} of {}", percent(r.response_rate), r.conversations)
        }),
        ("median reply", |s| {
            s.responses.median_reply_secs.map_or("-".into(), duration)
        }),
        ("p90 reply", |s| {
            s.responses.p90_reply_secs.map_or("-".into(), duration)
        }),
        ("drafts decided", |s| {
            format!("{} of {} shown", s.drafts.decided, s.drafts.shown)
        }),
        ("approved as-is", |s| percent(s.drafts.approval_rate)),
        ("used (as-is+edit)", |s| percent(s.drafts.acceptance_rate)),
        ("mean edit distance", |s| {
            s.drafts
                .mean_edit_distance
                .map_or("-".into(), |e| format!("{e:.1} chars"))
        }),
        ("AI cost", |s| match &s.ai {
            Some(a) => format!("${:.2} ({} calls)", a.cost_usd, a.runs),
            None => format!("${:.2} (drafts)", s.drafts.cost_usd),
        }),
    ];
    for (label, cell) in rows {
        let mine = mine.map_or("-".to_string(), cell);
        lines.push(Line::from(vec![
            Span::styled(clean::pad(label, label_w), t.muted),
            Span::raw(clean::pad(
                &clean::fit(&mine, col_w.saturating_sub(1)),
                col_w,
            )),
            Span::raw(clean::fit(&cell(&stats.total), col_w)),
        ]));
    }
    lines
}
