//! Settings: embedded defaults (`assets/config.toml`), then the config file,
//! then `REPLYDESK_*` environment variables, then command-line flags.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const DEFAULTS: &str = include_str!("../assets/config.toml");
pub const ENV_PREFIX: &str = "REPLYDESK_";
pub const DEFAULT_DATABASE_URL: &str = "postgres://localhost/replydesk";
/// `REPLYDESK_*` variables that are not settings: the log filter
/// (`REPLYDESK_LOG`) and the test suite's server.
const NOT_SETTINGS: &[&str] = &["LOG", "TEST_DATABASE_URL"];

/// A value that must never be printed: `Debug` and `Display` show `***`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database_url: Secret,
    pub rep: String,
    pub undo_window_secs: u64,
    pub page_size: u32,
    pub connect_timeout_secs: u64,
    pub statement_timeout_secs: u64,
    /// The longest a command waits for one answer from the database
    /// (client side: a dropped or stuck connection, not only a slow query).
    pub query_deadline_secs: u64,
    pub pool_size: usize,
    /// Which conversations the inbox lists.
    pub scope: Scope,
    /// The database has row-level security on (`replydesk rls enable`):
    /// the rep is whoever the database login is linked to.
    pub rls: bool,
    pub theme: ThemeSettings,
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
    pub ai: AiSettings,
    pub import: ImportSettings,
    pub delivery: DeliverySettings,
    pub worker: WorkerSettings,
}

/// `replydesk import`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportSettings {
    /// Subject + participants threading joins messages at most this far apart.
    pub thread_window_days: u32,
    /// Larger bodies are rejected with their position.
    pub max_body_bytes: usize,
    /// Addresses besides the reps' whose mail is outbound.
    pub team_addresses: Vec<String>,
    /// Domains (with their subdomains) whose mail is outbound.
    pub team_domains: Vec<String>,
    /// Look for the team in the mail: senders not registered as reps that
    /// write to many correspondents (see `import::team`).
    pub detect_team: bool,
}

/// How replies leave: `replydesk deliver` and the worker.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySettings {
    /// `file`, `stdout` or `postmark`.
    pub transport: String,
    /// For `file`; empty: the platform data dir's `outbox` folder.
    pub dir: String,
    pub base_url: String,
    pub server_token: Secret,
    pub message_stream: String,
    pub timeout_secs: u64,
    pub max_attempts: u32,
    pub backoff_ms: u64,
    pub lease_secs: u64,
    pub concurrency: usize,
}

/// `replydesk worker`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    /// Seconds between checks when no notification arrives.
    pub poll_secs: u64,
}

/// Whose conversations the inbox lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Everyone's.
    Team,
    /// The rep's own and the unassigned ones.
    Mine,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeSettings {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AiSettings {
    pub provider: String,
    pub base_url: String,
    pub api_key: Secret,
    pub chat_model: String,
    pub embedding_model: String,
    /// Vector length to ask the embedding model for; 0 takes the model's
    /// own (whatever its first answer has).
    pub embedding_dimensions: usize,
    /// Per HTTP request, connecting included.
    pub timeout_secs: u64,
    /// Retries after a 429, a 5xx or a timeout (so `max_retries + 1` attempts).
    pub max_retries: u32,
    /// Texts per embeddings request.
    pub batch_size: usize,
    /// US dollars per 1,000 prompt / completion tokens, for `ai_runs.cost_usd`.
    pub prompt_price_per_1k: f64,
    pub completion_price_per_1k: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path} cannot be read ({reason}): fix the path given to --config")]
    Unreadable { path: String, reason: String },
    #[error("config file {path} is not valid: {reason}; fix it or move it away")]
    Invalid { path: String, reason: String },
    #[error("environment variable {var} is not valid: {reason}")]
    BadEnv { var: String, reason: String },
}

/// What the command line says, for the settings it overrides.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config_path: Option<PathBuf>,
    pub database_url: Option<Secret>,
    pub rep: Option<String>,
}

/// Loaded settings plus anything worth warning about.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub settings: Settings,
    pub path: Option<PathBuf>,
    pub warnings: Vec<String>,
}

/// The platform's config file (`~/.config/replydesk/config.toml` on Linux).
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "replydesk").map(|d| d.config_dir().join("config.toml"))
}

fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// A `REPLYDESK_*` value as TOML: numbers and booleans typed, the rest strings.
fn env_value(raw: &str) -> toml::Value {
    if let Ok(i) = raw.parse::<i64>() {
        toml::Value::Integer(i)
    } else if raw == "true" || raw == "false" {
        toml::Value::Boolean(raw == "true")
    } else if let Some(f) = decimal(raw) {
        toml::Value::Float(f)
    } else {
        toml::Value::String(raw.to_string())
    }
}

/// A plain decimal like `0.0025` (prices); not `inf`, `1e3` or `1.2.3`.
fn decimal(raw: &str) -> Option<f64> {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    let plain = digits.contains('.') && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if plain { raw.parse().ok() } else { None }
}

/// Load with `env` as the environment (a parameter, so tests need no globals).
pub fn load_from(
    overrides: &Overrides,
    env: &BTreeMap<String, String>,
) -> Result<Loaded, ConfigError> {
    let mut table: toml::Table =
        DEFAULTS
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Invalid {
                path: "(built-in defaults)".into(),
                reason: first_line(&e.to_string()),
            })?;
    let mut warnings = Vec::new();
    let explicit = overrides.config_path.clone();
    let path = explicit.clone().or_else(default_path);
    let mut used_path = None;
    if let Some(p) = &path {
        match std::fs::read_to_string(p) {
            Ok(text) => {
                let file: toml::Table =
                    text.parse()
                        .map_err(|e: toml::de::Error| ConfigError::Invalid {
                            path: p.display().to_string(),
                            reason: first_line(e.message()),
                        })?;
                merge(&mut table, file);
                if let Some(w) = permission_warning(p, &text) {
                    warnings.push(w);
                }
                used_path = Some(p.clone());
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => {}
            Err(e) => {
                return Err(ConfigError::Unreadable {
                    path: p.display().to_string(),
                    reason: e.to_string(),
                });
            }
        }
    }
    for (var, raw) in env {
        let Some(key) = var.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if NOT_SETTINGS.contains(&key) {
            continue;
        }
        let parts: Vec<String> = key.split("__").map(|p| p.to_ascii_lowercase()).collect();
        let mut over = toml::Table::new();
        let mut cursor = &mut over;
        for (i, part) in parts.iter().enumerate() {
            if i + 1 == parts.len() {
                cursor.insert(part.clone(), env_value(raw));
            } else {
                cursor = cursor
                    .entry(part.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                    .as_table_mut()
                    .ok_or_else(|| ConfigError::BadEnv {
                        var: var.clone(),
                        reason: "not a section".into(),
                    })?;
            }
        }
        merge(&mut table, over);
    }
    // Deserialize from text so an error can name the key it is about.
    let merged = toml::to_string(&table).unwrap_or_default();
    let mut settings: Settings = toml::from_str(&merged).map_err(|e| {
        let key = e.span().map(|span| key_at(&merged, span.start));
        let reason = match key {
            Some(k) if !k.is_empty() => format!("{k}: {}", first_line(e.message())),
            _ => first_line(e.message()),
        };
        match &used_path {
            Some(p) => ConfigError::Invalid {
                path: p.display().to_string(),
                reason,
            },
            None => ConfigError::BadEnv {
                var: "REPLYDESK_*".into(),
                reason,
            },
        }
    })?;
    // Database URL: flag > REPLYDESK_DATABASE_URL > DATABASE_URL > file > default.
    if let Some(url) = &overrides.database_url {
        settings.database_url = url.clone();
    } else if !env.contains_key("REPLYDESK_DATABASE_URL")
        && let Some(url) = env.get("DATABASE_URL").filter(|u| !u.is_empty())
    {
        settings.database_url = Secret::new(url.clone());
    }
    if settings.database_url.is_empty() {
        settings.database_url = Secret::new(DEFAULT_DATABASE_URL);
    }
    if let Some(rep) = &overrides.rep {
        settings.rep = rep.clone();
    }
    if settings.rep.is_empty() {
        settings.rep = env.get("USER").cloned().unwrap_or_default();
    }
    if env.contains_key("NO_COLOR") {
        settings.theme.name = "mono".into();
    }
    Ok(Loaded {
        settings,
        path: used_path,
        warnings,
    })
}

/// The dotted key of the `key = value` line holding byte `pos` of `text`.
fn key_at(text: &str, pos: usize) -> String {
    let before = text.get(..pos).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let key = line.split('=').next().unwrap_or("").trim();
    let section = before[..line_start]
        .lines()
        .rev()
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').to_string());
    match section {
        Some(s) if !key.is_empty() && !line.starts_with('[') => format!("{s}.{key}"),
        _ => key.to_string(),
    }
}

/// Load from the process environment.
pub fn load(overrides: &Overrides) -> Result<Loaded, ConfigError> {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    load_from(overrides, &env)
}

/// A warning when `path` can be read by others and `text` (its content)
/// holds a secret; `doctor` reports the same check.
#[cfg(unix)]
pub fn permission_warning(path: &Path, text: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    let has_secret = text.contains("api_key") || text.contains("database_url");
    (mode & 0o077 != 0 && has_secret).then(|| {
        format!(
            "warning: config file {} can be read by other users and may hold secrets: chmod 600 {}",
            path.display(),
            path.display()
        )
    })
}

#[cfg(not(unix))]
pub fn permission_warning(_path: &Path, _text: &str) -> Option<String> {
    None
}

/// A database URL with its password replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return format!("{scheme}://{authority}{}", redact_query_password(tail));
    };
    let user = userinfo.split(':').next().unwrap_or("");
    let redacted = if userinfo.contains(':') {
        format!("{user}:***")
    } else {
        user.to_string()
    };
    let query = redact_query_password(tail);
    format!("{scheme}://{redacted}@{host}{query}")
}

fn redact_query_password(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_string();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|kv| {
            if kv.to_ascii_lowercase().starts_with("password=") {
                "password=***".to_string()
            } else {
                kv.to_string()
            }
        })
        .collect();
    format!("{path}?{}", parts.join("&"))
}
