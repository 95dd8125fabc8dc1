//! Colours and emphasis. `mono` (forced by `NO_COLOR`) uses no colour at
//! all, only bold, reverse, dim and underline; every distinction the colour
//! theme makes is also made by a glyph or a word, so nothing depends on hue.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Theme {
    pub mono: bool,
    pub base: Style,
    pub muted: Style,
    pub border: Style,
    pub border_focus: Style,
    pub title: Style,
    pub selected: Style,
    pub selected_unfocused: Style,
    pub inbound: Style,
    pub outbound: Style,
    pub accent: Style,
    pub ok: Style,
    pub warn: Style,
    pub error: Style,
    pub banner: Style,
    pub status_bar: Style,
    pub key: Style,
    pub conf_high: Style,
    pub conf_mid: Style,
    pub conf_low: Style,
}

impl Theme {
    /// `name` from the config: "mono" or anything else for colour.
    pub fn named(name: &str) -> Theme {
        if name.eq_ignore_ascii_case("mono") {
            Theme::mono()
        } else {
            Theme::colour()
        }
    }

    pub fn colour() -> Theme {
        let s = Style::default();
        Theme {
            mono: false,
            base: s,
            muted: s.fg(Color::DarkGray),
            border: s.fg(Color::DarkGray),
            border_focus: s.fg(Color::Cyan).add_modifier(Modifier::BOLD),
            title: s.add_modifier(Modifier::BOLD),
            selected: s
                .bg(Color::Blue)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD),
            selected_unfocused: s.bg(Color::DarkGray).fg(Color::White),
            inbound: s.fg(Color::Cyan).add_modifier(Modifier::BOLD),
            outbound: s.fg(Color::Green).add_modifier(Modifier::BOLD),
            accent: s.fg(Color::Yellow),
            ok: s.fg(Color::Green),
            warn: s.fg(Color::Yellow),
            error: s.fg(Color::Red).add_modifier(Modifier::BOLD),
            banner: s
                .bg(Color::Red)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD),
            status_bar: s.bg(Color::Black).fg(Color::Gray),
            key: s.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            conf_high: s.fg(Color::Green),
            conf_mid: s.fg(Color::Yellow),
            conf_low: s.fg(Color::Red),
        }
    }

    pub fn mono() -> Theme {
        let s = Style::default();
        let bold = s.add_modifier(Modifier::BOLD);
        Theme {
            mono: true,
            base: s,
            muted: s.add_modifier(Modifier::DIM),
            border: s,
            border_focus: bold,
            title: bold,
            selected: s.add_modifier(Modifier::REVERSED | Modifier::BOLD),
            selected_unfocused: s.add_modifier(Modifier::REVERSED),
            inbound: bold,
            outbound: s.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            accent: bold,
            ok: s,
            warn: bold,
            error: s.add_modifier(Modifier::BOLD | Modifier::REVERSED),
            banner: s.add_modifier(Modifier::BOLD | Modifier::REVERSED),
            status_bar: s,
            key: bold,
            conf_high: s,
            conf_mid: s,
            conf_low: bold,
        }
    }

    pub fn confidence(&self, c: f32) -> Style {
        if c >= 0.8 {
            self.conf_high
        } else if c >= 0.5 {
            self.conf_mid
        } else {
            self.conf_low
        }
    }
}
