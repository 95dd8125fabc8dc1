//! mbox (mboxrd and mboxo): messages start at a `From ` line at the start
//! of the file or after a blank line; `>From ` lines in a body are
//! unescaped (one `>` removed from `>+From `). LF and CRLF files both read.
//! Content before the first `From ` line (a bare message) reads as one
//! message at offset 0.

use super::marks::{MarkSink, Marks};
use super::parse::parse_with_fallback;
use super::read::{ReadOptions, human_size, read_line_capped};
use super::{Item, Position, Rejected};
use std::io::{BufReader, Read};

/// The longest `From ` line kept for its date.
const FROM_LINE_KEPT: usize = 256;

/// Streams an mbox input message by message.
pub(super) struct MboxReader<R> {
    reader: BufReader<R>,
    opts: ReadOptions,
    line: Vec<u8>,
    /// Byte offset of the next line.
    offset: u64,
    /// The line before was blank (or there was none): a `From ` line here
    /// starts a message.
    after_blank: bool,
    pending: Option<Pending>,
    done: bool,
    marks: Option<MarkSink>,
}

/// The message being collected.
struct Pending {
    offset: u64,
    from_line: Option<String>,
    raw: Vec<u8>,
    /// Bytes the message has, including any not kept past the cap.
    len: usize,
}

impl Pending {
    fn new(offset: u64, from_line: Option<String>) -> Self {
        Pending {
            offset,
            from_line,
            raw: Vec::with_capacity(8 << 10),
            len: 0,
        }
    }
}

impl<R: Read> MboxReader<R> {
    pub(super) fn new(reader: R, opts: &ReadOptions) -> Self {
        Self::starting(reader, opts, 0, None)
    }

    /// Reads `reader`, which is positioned at byte `offset` of its file on
    /// a message boundary, and publishes how far it got to `marks` when it
    /// stops.
    pub(super) fn starting(
        reader: R,
        opts: &ReadOptions,
        offset: u64,
        marks: Option<MarkSink>,
    ) -> Self {
        MboxReader {
            reader: BufReader::with_capacity(256 << 10, reader),
            opts: opts.clone(),
            line: Vec::with_capacity(1 << 10),
            offset,
            after_blank: true,
            pending: None,
            done: false,
            marks,
        }
    }

    /// At the end of the input every message is whole; after a read error,
    /// those before the one being read are.
    fn publish(&self, complete: bool) {
        let Some(marks) = &self.marks else { return };
        let boundary = if complete {
            self.offset
        } else {
            self.pending.as_ref().map_or(self.offset, |p| p.offset)
        };
        marks.publish(Marks {
            complete,
            boundary,
            consumed: boundary,
            ..Marks::default()
        });
    }

    /// Adds a body line to the pending message (starting one for content
    /// before any `From ` line), unescaping `>From `.
    fn push_line(&mut self, line_offset: u64, blank: bool) {
        if self.pending.is_none() {
            if blank {
                return;
            }
            self.pending = Some(Pending::new(line_offset, None));
        }
        let cap = self.opts.message_cap();
        let Some(pending) = self.pending.as_mut() else {
            return;
        };
        let line = unescape(&self.line);
        pending.len = pending.len.saturating_add(line.len());
        if pending.len <= cap {
            pending.raw.extend_from_slice(line);
        }
    }

    fn finish(&self, mut pending: Pending) -> Item {
        let position = Position::Offset(pending.offset);
        let cap = self.opts.message_cap();
        if pending.len > cap {
            return Item::Rejected(Rejected {
                position,
                reason: format!(
                    "message is {}, over the {} one message may have",
                    human_size(pending.len),
                    human_size(cap)
                ),
            });
        }
        drop_separator_line(&mut pending.raw);
        parse_with_fallback(
            &pending.raw,
            position,
            pending.from_line.as_deref(),
            &self.opts,
        )
    }

    fn stop(&mut self, error: std::io::Error) -> Item {
        self.done = true;
        self.publish(false);
        let offset = self.pending.take().map_or(self.offset, |p| p.offset);
        Item::Rejected(Rejected {
            position: Position::Offset(offset),
            reason: format!("reading stopped: {error}"),
        })
    }
}

impl<R: Read> Iterator for MboxReader<R> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        while !self.done {
            self.line.clear();
            // A line longer than a message may be is cut; the message it is
            // in is rejected as too long anyway.
            let cap = self.opts.message_cap().saturating_add(1);
            let len = match read_line_capped(&mut self.reader, &mut self.line, cap) {
                Ok(0) => break,
                Ok(len) => len,
                Err(e) => return Some(self.stop(e)),
            };
            let line_offset = self.offset;
            self.offset += len as u64;
            if self.after_blank && self.line.starts_with(b"From ") {
                self.after_blank = false;
                let from_line = from_line_text(&self.line);
                let finished = self
                    .pending
                    .replace(Pending::new(line_offset, Some(from_line)));
                if let Some(finished) = finished {
                    return Some(self.finish(finished));
                }
                continue;
            }
            let blank = matches!(&self.line[..], b"\n" | b"\r\n");
            self.push_line(line_offset, blank);
            self.after_blank = blank;
        }
        if self.done {
            return None;
        }
        self.done = true;
        self.publish(true);
        let last = self.pending.take()?;
        Some(self.finish(last))
    }
}

/// mboxrd: `>From `, `>>From `… lose one `>`.
fn unescape(line: &[u8]) -> &[u8] {
    let quotes = line.iter().take_while(|&&b| b == b'>').count();
    if quotes > 0 && line[quotes..].starts_with(b"From ") {
        &line[1..]
    } else {
        line
    }
}

/// The blank line before the next `From ` line (or the end of the file)
/// separates messages; it is not part of the message.
fn drop_separator_line(raw: &mut Vec<u8>) {
    if raw.ends_with(b"\r\n\r\n") {
        raw.truncate(raw.len() - 2);
    } else if raw.ends_with(b"\n\n") {
        raw.truncate(raw.len() - 1);
    }
}

fn from_line_text(line: &[u8]) -> String {
    let kept = &line[..line.len().min(FROM_LINE_KEPT)];
    String::from_utf8_lossy(kept).trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::MailRecord;

    fn read(input: &[u8]) -> Vec<Item> {
        MboxReader::new(input, &ReadOptions::default()).collect()
    }

    fn records(input: &[u8]) -> Vec<MailRecord> {
        read(input)
            .into_iter()
            .map(|item| match item {
                Item::Record(r) => *r,
                Item::Rejected(r) => panic!("rejected: {r}"),
            })
            .collect()
    }

    const MBOX: &str = "From a@x.y Tue Jan  2 10:00:00 2024\n\
        From: a@x.y\nDate: Tue, 02 Jan 2024 10:00:00 +0000\nMessage-ID: <1@x>\n\n\
        First\n>From here\n>>From there\nFrom the middle (not after a blank line)\n\n\
        From b@x.y Wed Jan  3 10:00:00 2024\n\
        From: b@x.y\nMessage-ID: <2@x>\n\nSecond\n\n";

    #[test]
    fn messages_split_unescape_and_keep_offsets() {
        let got = records(MBOX.as_bytes());
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].body_text,
            "First\nFrom here\n>From there\nFrom the middle (not after a blank line)"
        );
        assert_eq!(got[0].position, Position::Offset(0));
        let second = MBOX.find("From b@x.y").map(|o| o as u64);
        assert_eq!(Some(got[1].position.clone()), second.map(Position::Offset));
        assert_eq!(got[1].sent_at.to_rfc3339(), "2024-01-03T10:00:00+00:00");
        assert_eq!(got[1].body_text, "Second");
    }

    #[test]
    fn a_read_from_an_offset_keeps_file_offsets_and_publishes_the_end() {
        let second = MBOX.find("From b@x.y").unwrap_or(0);
        let sink = MarkSink::new();
        let tail = &MBOX.as_bytes()[second..];
        let got: Vec<Item> = MboxReader::starting(
            tail,
            &ReadOptions::default(),
            second as u64,
            Some(sink.clone()),
        )
        .collect();
        assert_eq!(got.len(), 1);
        assert!(
            matches!(&got[0], Item::Record(r) if r.position == Position::Offset(second as u64))
        );
        let marks = sink.take().unwrap();
        assert!(marks.complete);
        assert_eq!(
            (marks.boundary, marks.consumed),
            (MBOX.len() as u64, MBOX.len() as u64)
        );
    }

    #[test]
    fn crlf_files_read_the_same() {
        let crlf = MBOX.replace('\n', "\r\n");
        let got = records(crlf.as_bytes());
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].message_id.as_deref(), Some("<1@x>"));
        assert!(
            got[0]
                .body_text
                .starts_with("First\nFrom here\n>From there")
        );
        let second = crlf.find("From b@x.y").map(|o| Position::Offset(o as u64));
        assert_eq!(Some(got[1].position.clone()), second);
    }

    #[test]
    fn a_bare_message_reads_as_one_at_offset_zero() {
        let got = records(b"\n\nFrom: a@x.y\nDate: Tue, 02 Jan 2024 10:00:00 +0000\n\nHi\n");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].position, Position::Offset(2));
    }

    #[test]
    fn empty_input_yields_nothing_and_an_empty_message_is_rejected() {
        assert!(read(b"").is_empty());
        assert_eq!(
            read(b"From x Tue Jan  2 10:00:00 2024\n"),
            [Item::Rejected(Rejected {
                position: Position::Offset(0),
                reason: "not a mail message: no header fields".into()
            })]
        );
    }

    #[test]
    fn an_oversized_message_is_rejected_without_keeping_it() {
        let opts = ReadOptions {
            source: None,
            max_body_bytes: 0,
        };
        let mut input = b"From x Tue Jan  2 10:00:00 2024\nFrom: a@x.y\n\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', opts.message_cap() + 10));
        let mut reader = MboxReader::new(&input[..], &opts);
        let Some(Item::Rejected(r)) = reader.next() else {
            panic!("kept")
        };
        assert!(
            r.reason.starts_with("message is 128 MB, over the "),
            "{}",
            r.reason
        );
        assert!(reader.next().is_none());
    }
}
