//! The checks that need no database: the config file and the AI provider.

use super::Check;
use crate::config::Settings;
use std::path::Path;
use std::time::{Duration, Instant};

/// The provider's `/v1/models` must answer within this.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether the config file can leak a secret (the same rule as at start-up).
pub fn config_file(path: &Path) -> Check {
    let name = "config file";
    let shown = path.display();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Check::pass(
                name,
                format!("no file at {shown}: built-in defaults and environment"),
            );
        }
        Err(e) => {
            return Check::fail(
                name,
                format!("{shown} cannot be read ({e})"),
                "fix its permissions or pass --config",
            );
        }
    };
    if crate::config::permission_warning(path, &text).is_some() {
        return Check::warn(
            name,
            format!("{shown} can be read by other users and holds a secret"),
            format!("chmod 600 {shown}"),
        );
    }
    Check::pass(name, format!("{shown}{}", mode_note(path)))
}

#[cfg(unix)]
fn mode_note(path: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| format!(" (mode {:o})", m.permissions().mode() & 0o777))
        .unwrap_or_default()
}

#[cfg(not(unix))]
fn mode_note(_path: &Path) -> String {
    String::new()
}

/// `{base}/v1/models`, or `{base}/models` when the base already ends in /v1.
pub fn models_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with("/v1") {
        format!("{base}/models")
    } else {
        format!("{base}/v1/models")
    }
}

/// Where a URL points, without user, password, path or query.
fn host_of(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// A reqwest error as one line, without the URL (it may hold a key).
fn describe_http(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return format!("no answer within {} s", PROVIDER_TIMEOUT.as_secs());
    }
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = cause.to_string();
    if e.is_connect() {
        format!("cannot connect: {text}")
    } else {
        text
    }
}

pub async fn provider(settings: &Settings) -> Check {
    let name = "provider";
    let ai = &settings.ai;
    if ai.provider == "offline" {
        return Check::pass(name, "offline provider, nothing to reach");
    }
    if ai.base_url.trim().is_empty() {
        return Check::warn(
            name,
            format!("provider \"{}\" has no base_url", ai.provider),
            "set ai.base_url (or REPLYDESK_AI__BASE_URL), e.g. https://api.openai.com/v1",
        );
    }
    let url = match reqwest::Url::parse(&models_url(&ai.base_url)) {
        Ok(u) => u,
        Err(e) => {
            return Check::fail(
                name,
                format!("ai.base_url is not a valid URL ({e})"),
                "set ai.base_url to e.g. http://localhost:11434 or https://api.openai.com/v1",
            );
        }
    };
    let host = host_of(&url);
    let http = match reqwest::Client::builder()
        .timeout(PROVIDER_TIMEOUT)
        .connect_timeout(PROVIDER_TIMEOUT)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return Check::fail(
                name,
                format!("cannot build an HTTP client: {}", describe_http(&e)),
                "check the system's TLS set-up",
            );
        }
    };
    let mut request = http.get(url);
    if !ai.api_key.is_empty() {
        request = request.bearer_auth(ai.api_key.expose());
    }
    let started = Instant::now();
    match request.send().await {
        Ok(resp) if resp.status().is_success() => Check::pass(
            name,
            format!(
                "{} at {host} answered /v1/models in {} ms",
                ai.provider,
                started.elapsed().as_millis()
            ),
        ),
        Ok(resp) if matches!(resp.status().as_u16(), 401 | 403) => Check::fail(
            name,
            format!(
                "{host} refused the API key (HTTP {})",
                resp.status().as_u16()
            ),
            "set ai.api_key (or REPLYDESK_AI__API_KEY) to a valid key",
        ),
        Ok(resp) => Check::fail(
            name,
            format!(
                "{host} answered /v1/models with HTTP {}",
                resp.status().as_u16()
            ),
            "check ai.base_url: it should point at an OpenAI-compatible API",
        ),
        Err(e) => Check::fail(
            name,
            format!("cannot reach {host} ({})", describe_http(&e)),
            "check ai.base_url and that the provider is running, or set ai.provider = \"offline\"",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_url_accepts_a_base_with_or_without_v1() {
        assert_eq!(
            models_url("http://localhost:11434"),
            "http://localhost:11434/v1/models"
        );
        assert_eq!(
            models_url("https://api.openai.com/v1/"),
            "https://api.openai.com/v1/models"
        );
    }
}
