//! Postmark's email API (`POST {base_url}/email`), or any server that
//! speaks it. The outbox id goes along twice: as the `Idempotency-Key`
//! header (a server honouring it delivers a re-sent email once) and in
//! `Metadata`. The server token goes only into `X-Postmark-Server-Token`
//! and is cut out of anything the server echoes back.
//!
//! Answers: 200 with `ErrorCode` 0 is sent (`MessageID` kept); 401, 422 and
//! other 4xx are permanent (Postmark's `ErrorCode` and `Message` kept);
//! 408, 429, 5xx, timeouts and connection errors are transient.

use super::transport::{Outgoing, SendError, Sent, Transport};
use crate::config::Secret;
use futures::future::BoxFuture;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

/// Longest server text kept in `last_error`.
const MAX_SERVER_MESSAGE: usize = 300;

pub struct PostmarkTransport {
    client: reqwest::Client,
    endpoint: String,
    token: Secret,
    message_stream: String,
}

impl PostmarkTransport {
    pub fn new(
        base_url: &str,
        token: Secret,
        message_stream: &str,
        timeout: Duration,
    ) -> Result<PostmarkTransport, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // A redirected POST would be re-sent as a GET: report it instead.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("replydesk/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(PostmarkTransport {
            client,
            endpoint: format!("{}/email", base_url.trim_end_matches('/')),
            token,
            message_stream: message_stream.to_string(),
        })
    }

    /// The request body, per Postmark's "send a single email".
    pub fn body(&self, email: &Outgoing) -> serde_json::Value {
        let mut headers = vec![json!({ "Name": "Message-ID", "Value": email.message_id })];
        if let Some(parent) = &email.in_reply_to {
            headers.push(json!({ "Name": "In-Reply-To", "Value": parent }));
        }
        if !email.references.is_empty() {
            headers.push(json!({ "Name": "References", "Value": email.references.join(" ") }));
        }
        let to: Vec<String> = email.to.iter().map(|m| m.display()).collect();
        json!({
            "From": email.from.display(),
            "To": to.join(","),
            "Subject": email.subject,
            "TextBody": email.body,
            "MessageStream": self.message_stream,
            "Headers": headers,
            "Metadata": { "outbox_id": email.outbox_id.to_string() },
        })
    }

    async fn post(&self, email: &Outgoing) -> Result<Sent, SendError> {
        let response = self
            .client
            .post(&self.endpoint)
            .header("Accept", "application/json")
            .header("X-Postmark-Server-Token", self.token.expose())
            .header("Idempotency-Key", email.idempotency_key())
            .json(&self.body(email))
            .send()
            .await
            .map_err(|e| SendError::transient(self.describe(&e)))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        // A body cut off after a 200 leaves it unknown whether the email
        // went out: try again, the idempotency key keeps it to one.
        let text = response
            .text()
            .await
            .map_err(|e| SendError::transient(self.describe(&e)))?;
        let answer: Answer = serde_json::from_str(&text).unwrap_or_default();
        let said = || {
            let m = answer
                .message
                .as_deref()
                .filter(|m| !m.trim().is_empty())
                .unwrap_or(&text);
            self.clean(m)
        };
        let code = answer.error_code.unwrap_or(0);
        if status.is_success() {
            if code != 0 {
                return Err(SendError::Permanent(format!(
                    "Postmark error {code}: {}",
                    said()
                )));
            }
            return Ok(Sent {
                provider_message_id: answer.message_id.filter(|id| !id.is_empty()),
            });
        }
        match status {
            StatusCode::UNAUTHORIZED => Err(SendError::Permanent(format!(
                "HTTP 401: the server token was refused ({}): check delivery.server_token",
                said()
            ))),
            StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS => {
                Err(SendError::Transient {
                    message: format!("HTTP {}: {}", status.as_u16(), said()),
                    retry_after,
                })
            }
            s if s.is_server_error() => Err(SendError::Transient {
                message: format!("HTTP {}: {}", s.as_u16(), said()),
                retry_after,
            }),
            s if s.is_redirection() => Err(SendError::Permanent(format!(
                "HTTP {}: the server redirects {}: check delivery.base_url",
                s.as_u16(),
                self.endpoint
            ))),
            s if code != 0 => Err(SendError::Permanent(format!(
                "HTTP {}: Postmark error {code}: {}",
                s.as_u16(),
                said()
            ))),
            s => Err(SendError::Permanent(format!(
                "HTTP {}: {}",
                s.as_u16(),
                said()
            ))),
        }
    }

    /// A reqwest error as one line, without the URL's query or any secret.
    fn describe(&self, e: &reqwest::Error) -> String {
        let kind = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "cannot connect"
        } else {
            "request failed"
        };
        let mut s = format!("{kind}: POST {}", self.endpoint);
        let mut src = std::error::Error::source(e);
        while let Some(cause) = src {
            let c = cause.to_string();
            if !s.contains(&c) {
                s.push_str(": ");
                s.push_str(&c);
            }
            src = cause.source();
        }
        self.clean(&s)
    }

    /// One line, bounded, never holding the token.
    fn clean(&self, s: &str) -> String {
        let mut s = super::transport::one_line(s).trim().to_string();
        if !self.token.is_empty() {
            s = s.replace(self.token.expose(), "***");
        }
        if s.chars().count() > MAX_SERVER_MESSAGE {
            s = s.chars().take(MAX_SERVER_MESSAGE).collect::<String>() + "…";
        }
        if s.is_empty() {
            s = "(no message)".into();
        }
        s
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    error_code: Option<i64>,
    message: Option<String>,
    #[serde(rename = "MessageID")]
    message_id: Option<String>,
}

impl Transport for PostmarkTransport {
    fn name(&self) -> &'static str {
        "postmark"
    }

    fn send<'a>(&'a self, email: &'a Outgoing) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(self.post(email))
    }
}
