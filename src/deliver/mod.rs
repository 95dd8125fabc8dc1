//! Sending the outbox: transports (Postmark-compatible HTTP API, `.eml`
//! files, stdout) and the claim → send → mark loop.
