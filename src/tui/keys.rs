//! The keymap: every command's default keys in code, overridden per command
//! from `[keys]` in the config. The help overlay is generated from the live
//! map, so it can never disagree with what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::collections::{BTreeMap, HashMap};

/// Something a key can ask for. `name()` is the key in `[keys]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Command {
    Down,
    Up,
    Top,
    Bottom,
    PageDown,
    PageUp,
    FocusNext,
    Open,
    Search,
    Approve,
    Edit,
    EditExternal,
    Reject,
    Compose,
    Undo,
    Similar,
    Archive,
    Claim,
    FilterNeedsReply,
    FilterWaiting,
    FilterAll,
    FilterArchived,
    Refresh,
    Stats,
    Help,
    Back,
    Quit,
    Save,
}

/// Where a command is listed in the help overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Move,
    Review,
    Inbox,
    Editor,
}

impl Group {
    pub fn title(self) -> &'static str {
        match self {
            Group::Move => "Move",
            Group::Review => "Review",
            Group::Inbox => "Inbox",
            Group::Editor => "Editor",
        }
    }
}

impl Command {
    pub const ALL: [Command; 28] = [
        Command::Down,
        Command::Up,
        Command::Top,
        Command::Bottom,
        Command::PageDown,
        Command::PageUp,
        Command::FocusNext,
        Command::Open,
        Command::Search,
        Command::Approve,
        Command::Edit,
        Command::EditExternal,
        Command::Reject,
        Command::Compose,
        Command::Undo,
        Command::Similar,
        Command::Archive,
        Command::Claim,
        Command::FilterNeedsReply,
        Command::FilterWaiting,
        Command::FilterAll,
        Command::FilterArchived,
        Command::Refresh,
        Command::Stats,
        Command::Help,
        Command::Back,
        Command::Quit,
        Command::Save,
    ];

    /// The name used in `[keys]` of the config file.
    pub fn name(self) -> &'static str {
        match self {
            Command::Down => "down",
            Command::Up => "up",
            Command::Top => "top",
            Command::Bottom => "bottom",
            Command::PageDown => "page_down",
            Command::PageUp => "page_up",
            Command::FocusNext => "focus_next",
            Command::Open => "open",
            Command::Search => "search",
            Command::Similar => "similar",
            Command::Approve => "approve",
            Command::Edit => "edit",
            Command::EditExternal => "edit_external",
            Command::Reject => "reject",
            Command::Compose => "compose",
            Command::Undo => "undo",
            Command::Archive => "archive",
            Command::Claim => "claim",
            Command::FilterNeedsReply => "filter_needs_reply",
            Command::FilterWaiting => "filter_waiting",
            Command::FilterAll => "filter_all",
            Command::FilterArchived => "filter_archived",
            Command::Refresh => "refresh",
            Command::Stats => "stats",
            Command::Help => "help",
            Command::Back => "back",
            Command::Quit => "quit",
            Command::Save => "save",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Command::Down => "next row / scroll down",
            Command::Up => "previous row / scroll up",
            Command::Top => "first (newest) / top",
            Command::Bottom => "last (oldest) / bottom",
            Command::PageDown => "page down",
            Command::PageUp => "page up",
            Command::FocusNext => "focus next pane",
            Command::Open => "open conversation",
            Command::Search => "search messages",
            Command::Similar => "similar conversations",
            Command::Approve => "approve draft, queue it",
            Command::Edit => "edit draft inline",
            Command::EditExternal => "edit draft in $EDITOR",
            Command::Reject => "reject draft (pick reason)",
            Command::Compose => "write your own reply",
            Command::Undo => "undo last queued reply",
            Command::Archive => "archive / unarchive",
            Command::Claim => "claim: make it yours",
            Command::FilterNeedsReply => "show: needs reply",
            Command::FilterWaiting => "show: waiting",
            Command::FilterAll => "show: all",
            Command::FilterArchived => "show: archived",
            Command::Refresh => "reload everything",
            Command::Stats => "stats: replies and drafts",
            Command::Help => "this help",
            Command::Back => "back / close / quit",
            Command::Quit => "quit",
            Command::Save => "approve edit / send reply",
        }
    }

    pub fn group(self) -> Group {
        use Command::*;
        match self {
            Down | Up | Top | Bottom | PageDown | PageUp | FocusNext | Open | Search => Group::Move,
            Approve | Edit | EditExternal | Reject | Compose | Undo | Similar => Group::Review,
            Archive | Claim | FilterNeedsReply | FilterWaiting | FilterAll | FilterArchived
            | Refresh | Stats | Help | Back | Quit => Group::Inbox,
            Save => Group::Editor,
        }
    }

    fn defaults(self) -> &'static [&'static str] {
        match self {
            Command::Down => &["j", "down"],
            Command::Up => &["k", "up"],
            Command::Top => &["g", "home"],
            Command::Bottom => &["G", "end"],
            Command::PageDown => &["pgdn", "ctrl-d"],
            Command::PageUp => &["pgup", "ctrl-u"],
            Command::FocusNext => &["tab"],
            Command::Open => &["enter"],
            Command::Search => &["/"],
            Command::Similar => &["s"],
            Command::Approve => &["a"],
            Command::Edit => &["e"],
            Command::EditExternal => &["E"],
            Command::Reject => &["r"],
            Command::Compose => &["c"],
            Command::Undo => &["u"],
            Command::Archive => &["x"],
            Command::Claim => &["m"],
            Command::FilterNeedsReply => &["1"],
            Command::FilterWaiting => &["2"],
            Command::FilterAll => &["3"],
            Command::FilterArchived => &["4"],
            Command::Refresh => &["R"],
            Command::Stats => &["S"],
            Command::Help => &["?"],
            Command::Back => &["q", "esc"],
            Command::Quit => &["ctrl-c"],
            Command::Save => &["ctrl-s"],
        }
    }

    pub fn from_name(name: &str) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// One key: a code plus Ctrl/Alt (Shift is part of the character for letters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeySpec {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl KeySpec {
    pub fn from_event(ev: &KeyEvent) -> KeySpec {
        let code = match ev.code {
            KeyCode::Char(c) if ev.modifiers.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            other => other,
        };
        KeySpec {
            code,
            ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
            alt: ev.modifiers.contains(KeyModifiers::ALT),
        }
    }

    /// Parse `a`, `G`, `?`, `enter`, `ctrl-s`, `alt-x`, `pgdn`, `f5` …
    pub fn parse(spec: &str) -> Option<KeySpec> {
        let spec = spec.trim();
        let (mut ctrl, mut alt) = (false, false);
        let mut rest = spec;
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.chars().count() > 1 && (lower.starts_with("ctrl-") || lower.starts_with("c-")) {
                ctrl = true;
                rest = &rest[rest.find('-').map_or(0, |i| i + 1)..];
            } else if rest.chars().count() > 1
                && (lower.starts_with("alt-") || lower.starts_with("m-"))
            {
                alt = true;
                rest = &rest[rest.find('-').map_or(0, |i| i + 1)..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) if ctrl => KeyCode::Char(c.to_ascii_lowercase()),
            (Some(c), None) => KeyCode::Char(c),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backtab" | "shift-tab" => KeyCode::BackTab,
                "space" => KeyCode::Char(' '),
                "backspace" | "bs" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "pgup" | "pageup" => KeyCode::PageUp,
                "pgdn" | "pagedown" => KeyCode::PageDown,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                f if f.starts_with('f') => KeyCode::F(f[1..].parse().ok().filter(|n| *n >= 1)?),
                _ => return None,
            },
        };
        Some(KeySpec { code, ctrl, alt })
    }

    /// How the key is written in help and hints.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "S-Tab".into(),
            KeyCode::Backspace => "Bksp".into(),
            KeyCode::Delete => "Del".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::F(n) => format!("F{n}"),
            _ => "?".into(),
        };
        let mut s = String::new();
        if self.ctrl {
            s.push_str("Ctrl-");
        }
        if self.alt {
            s.push_str("Alt-");
        }
        if self.ctrl {
            s.push_str(&base.to_uppercase());
        } else {
            s.push_str(&base);
        }
        s
    }
}

/// The live key bindings.
#[derive(Debug, Clone)]
pub struct Keymap {
    by_key: HashMap<KeySpec, Command>,
    by_command: BTreeMap<Command, Vec<KeySpec>>,
    /// Problems with the `[keys]` section, shown once at start.
    pub warnings: Vec<String>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::new(&BTreeMap::new())
    }
}

impl Keymap {
    /// Defaults, then `overrides` (command name → one or more keys separated
    /// by spaces or commas). An override replaces that command's keys and
    /// takes those keys away from any other command.
    pub fn new(overrides: &BTreeMap<String, String>) -> Keymap {
        let mut by_command: BTreeMap<Command, Vec<KeySpec>> = BTreeMap::new();
        for c in Command::ALL {
            let keys = c
                .defaults()
                .iter()
                .filter_map(|s| KeySpec::parse(s))
                .collect();
            by_command.insert(c, keys);
        }
        let mut warnings = Vec::new();
        let mut overridden: BTreeMap<Command, Vec<KeySpec>> = BTreeMap::new();
        for (name, spec) in overrides {
            let Some(cmd) = Command::from_name(name.trim()) else {
                warnings.push(format!(
                    "[keys] {name}: no such action (see ? for the list)"
                ));
                continue;
            };
            let mut keys = Vec::new();
            for part in spec.split([',', ' ']).filter(|p| !p.is_empty()) {
                match KeySpec::parse(part) {
                    Some(k) => keys.push(k),
                    None => warnings.push(format!("[keys] {name} = \"{part}\": unknown key")),
                }
            }
            if keys.is_empty() {
                continue;
            }
            for (other, other_keys) in &overridden {
                if other_keys.iter().any(|k| keys.contains(k)) {
                    warnings.push(format!(
                        "[keys] {name} and {} share a key; {name} wins",
                        other.name()
                    ));
                }
            }
            overridden.insert(cmd, keys);
        }
        for (cmd, keys) in &overridden {
            for (other, other_keys) in by_command.iter_mut() {
                if other != cmd {
                    other_keys.retain(|k| !keys.contains(k));
                }
            }
            by_command.insert(*cmd, keys.clone());
        }
        let mut by_key = HashMap::new();
        for (cmd, keys) in &by_command {
            for k in keys {
                by_key.insert(*k, *cmd);
            }
        }
        // An override wins over a default that kept the same key.
        for (cmd, keys) in &overridden {
            for k in keys {
                by_key.insert(*k, *cmd);
            }
        }
        Keymap {
            by_key,
            by_command,
            warnings,
        }
    }

    pub fn lookup(&self, ev: &KeyEvent) -> Option<Command> {
        if ev.kind == KeyEventKind::Release {
            return None;
        }
        self.by_key.get(&KeySpec::from_event(ev)).copied()
    }

    pub fn keys(&self, cmd: Command) -> &[KeySpec] {
        self.by_command.get(&cmd).map_or(&[], Vec::as_slice)
    }

    /// The first key of a command, for hints ("a approve"); "—" when unbound.
    pub fn hint(&self, cmd: Command) -> String {
        self.keys(cmd)
            .first()
            .map_or_else(|| "—".to_string(), KeySpec::label)
    }

    /// All keys of a command, for the help overlay ("j ↓").
    pub fn all_labels(&self, cmd: Command) -> String {
        let labels: Vec<String> = self.keys(cmd).iter().map(KeySpec::label).collect();
        if labels.is_empty() {
            "(unbound)".to_string()
        } else {
            labels.join(" ")
        }
    }

    pub fn is(&self, ev: &KeyEvent, cmd: Command) -> bool {
        self.keys(cmd).contains(&KeySpec::from_event(ev))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    #[test]
    fn defaults_resolve() {
        let k = Keymap::default();
        assert_eq!(
            k.lookup(&ev(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(Command::Down)
        );
        assert_eq!(
            k.lookup(&ev(KeyCode::Down, KeyModifiers::NONE)),
            Some(Command::Down)
        );
        assert_eq!(
            k.lookup(&ev(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Command::Bottom)
        );
        assert_eq!(
            k.lookup(&ev(KeyCode::Char('s'), KeyModifiers::CONTROL)),
            Some(Command::Save)
        );
        assert_eq!(k.lookup(&ev(KeyCode::Char('z'), KeyModifiers::NONE)), None);
    }

    #[test]
    fn overrides_replace_and_steal() {
        let mut o = BTreeMap::new();
        o.insert("approve".to_string(), "y".to_string());
        o.insert("down".to_string(), "n, down".to_string());
        o.insert("edit".to_string(), "a".to_string());
        o.insert("bogus".to_string(), "b".to_string());
        o.insert("reject".to_string(), "ctrl-".to_string());
        let k = Keymap::new(&o);
        assert_eq!(
            k.lookup(&ev(KeyCode::Char('y'), KeyModifiers::NONE)),
            Some(Command::Approve)
        );
        assert_eq!(
            k.lookup(&ev(KeyCode::Char('a'), KeyModifiers::NONE)),
            Some(Command::Edit)
        );
        assert_eq!(k.lookup(&ev(KeyCode::Char('j'), KeyModifiers::NONE)), None);
        assert_eq!(
            k.lookup(&ev(KeyCode::Char('n'), KeyModifiers::NONE)),
            Some(Command::Down)
        );
        assert_eq!(k.hint(Command::Approve), "y");
        assert_eq!(k.warnings.len(), 2, "{:?}", k.warnings);
    }

    #[test]
    fn parse_and_label_round_trip() {
        for s in [
            "a", "G", "?", "enter", "ctrl-s", "alt-x", "pgdn", "f5", "space", "tab",
        ] {
            let k = KeySpec::parse(s).unwrap_or_else(|| panic!("{s}"));
            assert!(KeySpec::parse("").is_none());
            assert!(!k.label().is_empty());
        }
        assert_eq!(
            KeySpec::parse("ctrl-s").map(|k| k.label()),
            Some("Ctrl-S".to_string())
        );
        assert!(KeySpec::parse("f0").is_none());
        assert!(KeySpec::parse("nonsense").is_none());
    }
}
