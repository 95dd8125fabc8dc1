//! replydesk: review AI-drafted replies to sales leads from the terminal.
//!
//! The crate's folders are its architecture: `db` holds every SQL statement,
//! `tui` turns keys into actions, `text` makes outside text safe to draw.
//! Commands print through [`out::Out`] (a closed pipe ends them quietly),
//! never with `println!`.
#![deny(clippy::print_stdout)]

pub mod ai;
pub mod cli;
pub mod commands;
pub mod config;
pub mod db;
pub mod deliver;
pub mod demo;
pub mod import;
pub mod mail;
pub mod ops;
pub mod out;
pub mod query;
pub mod text;
pub mod tui;
