//! The mail readers against generated corpora and planted broken records:
//! pure, no database.

use proptest::prelude::*;
use replydesk::cli::ImportFormat;
use replydesk::db::Direction;
use replydesk::mail::corpus::{
    Corpus, CorpusSpec, GenMessage, HeaderEncoding, MimeShape, mail_bytes,
};
use replydesk::mail::{
    Attachment, Item, MailRecord, Position, ReadError, ReadOptions, Rejected, detect,
    parse_message, read, read_jsonl, read_mbox,
};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

// ------------------------------------------------------------------ helpers

/// A folder of its own under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("replydesk-mail-{}-{name}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create a scratch folder");
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn read_all(path: &Path, format: Option<ImportFormat>, opts: &ReadOptions) -> Vec<Item> {
    match read(path, format, opts) {
        Ok(items) => items.collect(),
        Err(e) => panic!("read failed: {e}"),
    }
}

fn split(items: Vec<Item>) -> (Vec<MailRecord>, Vec<Rejected>) {
    let mut records = Vec::new();
    let mut rejected = Vec::new();
    for item in items {
        match item {
            Item::Record(r) => records.push(*r),
            Item::Rejected(r) => rejected.push(r),
        }
    }
    (records, rejected)
}

fn only_records(items: Vec<Item>) -> Vec<MailRecord> {
    let (records, rejected) = split(items);
    assert!(rejected.is_empty(), "unexpected rejections: {rejected:?}");
    records
}

fn corpus(conversations: usize, seed: u64) -> Corpus {
    Corpus::generate(&CorpusSpec::new(conversations, seed))
}

/// The fields every format must read back exactly.
fn assert_same_message(got: &MailRecord, want: &GenMessage) {
    let what = format!("{:?} at {}", want.message_id, got.position);
    assert_eq!(got.message_id, want.message_id, "message id {what}");
    assert_eq!(got.in_reply_to, want.in_reply_to, "in-reply-to {what}");
    assert_eq!(got.references, want.references, "references {what}");
    assert_eq!(got.from_addr, want.from_addr, "from {what}");
    assert_eq!(
        got.from_name.as_deref(),
        Some(want.from_name.as_str()),
        "name {what}"
    );
    assert_eq!(got.to_addrs, want.to_addrs, "to {what}");
    assert_eq!(got.subject, want.subject, "subject {what}");
    assert_eq!(got.sent_at, want.sent_at, "date {what}");
    assert_eq!(
        got.body_text, want.body_text,
        "text {what} ({:?})",
        want.mime
    );
    assert_eq!(
        got.body_html, want.body_html,
        "html {what} ({:?})",
        want.mime
    );
    let attachments: Vec<Attachment> = want.attachment.iter().cloned().collect();
    assert_eq!(got.attachments, attachments, "attachments {what}");
    assert!(got.notes.is_empty(), "notes {what}: {:?}", got.notes);
}

fn assert_reads_back(corpus: &Corpus, records: &[MailRecord], source: &str) {
    assert_eq!(records.len(), corpus.expected_messages());
    let by_id: HashMap<&str, &MailRecord> = records
        .iter()
        .map(|r| (r.external_id.as_str(), r))
        .collect();
    assert_eq!(by_id.len(), records.len(), "external ids are unique");
    for want in &corpus.messages {
        let id = want.message_id.as_deref().unwrap_or_default();
        let got = by_id.get(id).unwrap_or_else(|| panic!("{id} was not read"));
        assert_same_message(got, want);
        assert_eq!(got.source, source);
    }
}

/// The corpus exercises what it claims to: every MIME shape and header
/// encoding, non-ASCII names and subjects, escaped From lines.
fn assert_covers_mime(corpus: &Corpus) {
    for shape in [
        MimeShape::Plain,
        MimeShape::QuotedPrintable,
        MimeShape::Base64,
        MimeShape::SingleByte,
        MimeShape::Alternative,
        MimeShape::HtmlOnly,
        MimeShape::WithAttachment,
    ] {
        assert!(
            corpus.messages.iter().any(|m| m.mime == shape),
            "{shape:?} missing"
        );
    }
    for encoding in [
        HeaderEncoding::Raw,
        HeaderEncoding::Utf8Base64,
        HeaderEncoding::Latin1Q,
    ] {
        let non_ascii = |m: &&GenMessage| m.header_encoding == encoding && !m.from_name.is_ascii();
        assert!(
            corpus.messages.iter().any(|m| non_ascii(&m)),
            "{encoding:?} missing"
        );
    }
    assert!(corpus.messages.iter().any(|m| !m.subject.is_ascii()));
    assert!(
        corpus
            .messages
            .iter()
            .any(|m| m.body_text.contains("\n\nFrom "))
    );
    assert!(
        corpus
            .messages
            .iter()
            .any(|m| m.body_text.contains("\n>From "))
    );
    let names = corpus
        .messages
        .iter()
        .filter_map(|m| m.attachment.as_ref()?.filename.as_deref());
    assert!(names.into_iter().any(|n| !n.is_ascii()));
}

fn good_line(n: usize) -> String {
    format!(
        r#"{{"message_id":"<good{n}@x.example>","from":"Lead {n} <lead{n}@x.example>","to":"dana.cruz@example.com","sent_at":"2024-03-0{n}T10:00:00Z","subject":"Hello {n}","body_text":"Body {n}"}}"#
    )
}

fn good_mail(n: usize) -> String {
    format!(
        "Message-ID: <good{n}@x.example>\nFrom: Lead {n} <lead{n}@x.example>\nTo: dana.cruz@example.com\n\
         Date: Fri, 0{n} Mar 2024 10:00:00 +0000\nSubject: Hello {n}\n\nBody {n}\n"
    )
}

// ------------------------------------------------------- corpora read back

#[test]
fn an_mbox_corpus_reads_back_exactly() {
    let corpus = corpus(80, 11);
    assert_covers_mime(&corpus);
    let dir = Scratch::new("mbox");
    let path = dir.path("inbox.mbox");
    corpus.write_mbox(&path).expect("write mbox");
    assert!(matches!(detect(&path), Ok(ImportFormat::Mbox)));
    let records = only_records(read_all(&path, None, &ReadOptions::default()));
    assert_reads_back(&corpus, &records, "email");
    assert!(
        records
            .iter()
            .all(|r| r.direction.is_none() && r.conversation_key.is_none())
    );
    let mut offsets = records.iter().map(|r| match r.position {
        Position::Offset(o) => o,
        ref other => panic!("not an offset: {other:?}"),
    });
    assert_eq!(offsets.next(), Some(0));
    let raw = fs::read(&path).expect("read back");
    for offset in offsets {
        assert!(raw[offset as usize..].starts_with(b"From "));
        assert_eq!(raw[offset as usize - 2..offset as usize], *b"\n\n");
    }
}

#[test]
fn a_crlf_mbox_reads_back_exactly() {
    let corpus = corpus(25, 12);
    let dir = Scratch::new("crlf");
    let path = dir.path("inbox.mbox");
    corpus.write_mbox(&path).expect("write mbox");
    let crlf = fs::read_to_string(&path)
        .expect("read")
        .replace('\n', "\r\n");
    fs::write(&path, crlf).expect("write crlf");
    let records = only_records(read_all(
        &path,
        Some(ImportFormat::Mbox),
        &ReadOptions::default(),
    ));
    assert_reads_back(&corpus, &records, "email");
}

#[test]
fn a_maildir_corpus_reads_back_exactly_inbox_then_sent() {
    let corpus = corpus(60, 13);
    assert_covers_mime(&corpus);
    let dir = Scratch::new("maildir");
    let root = dir.path("Mail");
    corpus.write_maildir(&root).expect("write maildir");
    assert!(matches!(detect(&root), Ok(ImportFormat::Maildir)));
    let opts = ReadOptions {
        source: Some("gmail-export".into()),
        ..ReadOptions::default()
    };
    let records = only_records(read_all(&root, None, &opts));
    assert_reads_back(&corpus, &records, "gmail-export");
    let paths: Vec<&Path> = records
        .iter()
        .map(|r| match &r.position {
            Position::File(p) => p.as_path(),
            other => panic!("not a file: {other:?}"),
        })
        .collect();
    let first_sent = paths.iter().position(|p| p.starts_with(root.join(".Sent")));
    let first_sent = first_sent.expect("sent mail read");
    assert!(
        paths[..first_sent]
            .iter()
            .all(|p| !p.starts_with(root.join(".Sent")))
    );
    assert!(
        paths[first_sent..]
            .iter()
            .all(|p| p.starts_with(root.join(".Sent")))
    );
    for half in [&paths[..first_sent], &paths[first_sent..]] {
        let names: Vec<_> = half.iter().map(|p| p.file_name()).collect();
        assert!(names.is_sorted(), "sorted by file name");
    }
    for record in &records {
        let outbound = corpus.messages.iter().any(|m| {
            m.message_id.as_deref() == Some(&record.external_id)
                && m.direction == Direction::Outbound
        });
        let in_sent =
            matches!(&record.position, Position::File(p) if p.starts_with(root.join(".Sent")));
        assert_eq!(outbound, in_sent);
    }
}

#[test]
fn a_jsonl_corpus_reads_back_exactly_with_keys_directions_and_leads() {
    let corpus = corpus(60, 14);
    let dir = Scratch::new("jsonl");
    let path = dir.path("export.jsonl");
    corpus.write_jsonl(&path).expect("write jsonl");
    assert!(matches!(detect(&path), Ok(ImportFormat::Jsonl)));
    let records = only_records(read_all(&path, None, &ReadOptions::default()));
    assert_eq!(records.len(), corpus.expected_messages());
    for (got, want) in records.iter().zip(&corpus.messages) {
        assert_same_message(got, want);
        assert_eq!(got.source, want.source);
        assert_eq!(got.direction, Some(want.direction));
        assert_eq!(
            got.conversation_key.as_deref(),
            Some(want.conversation_key.as_str())
        );
        assert_eq!(got.lead_name, want.lead_name);
        assert_eq!(got.lead_phone, want.lead_phone);
    }
    let keys: std::collections::HashSet<_> =
        records.iter().map(|r| r.conversation_key.clone()).collect();
    assert_eq!(keys.len(), corpus.expected_conversations());
}

#[test]
fn the_streamed_jsonl_is_the_generated_corpus() {
    let spec = CorpusSpec::new(30, 15);
    let dir = Scratch::new("stream");
    let (streamed, held) = (dir.path("a.jsonl"), dir.path("b.jsonl"));
    let count = spec.write_jsonl(&streamed).expect("stream");
    Corpus::generate(&spec).write_jsonl(&held).expect("write");
    assert_eq!(count, spec.expected_messages());
    assert_eq!(fs::read(&streamed).ok(), fs::read(&held).ok());
}

// --------------------------------------------------- planted broken records

#[test]
fn jsonl_keeps_good_lines_and_rejects_each_bad_one_with_its_line() {
    let mut input: Vec<u8> = Vec::new();
    let mut line = |bytes: &[u8]| {
        input.extend_from_slice(bytes);
        input.push(b'\n');
    };
    line(good_line(1).as_bytes()); // 1
    line(
        &good_line(2)
            .replace("Body 2", "Body \u{1}")
            .as_bytes()
            .iter()
            .map(|&b| if b == 1 { 0xC3 } else { b })
            .collect::<Vec<_>>(),
    ); // 2
    line(good_line(3).as_bytes()); // 3
    line(b"{\"from\": \"a@b.example\", \"sent_at\": }"); // 4
    line(
        good_line(4)
            .replace("2024-03-04T10:00:00Z", "yesterday")
            .as_bytes(),
    ); // 5
    line(
        good_line(5)
            .replace(r#""from":"Lead 5 <lead5@x.example>","#, "")
            .as_bytes(),
    ); // 6
    line(good_line(6).replace("Body 6", &"x".repeat(3000)).as_bytes()); // 7
    line(b"   "); // 8
    line(
        good_line(7)
            .replace(r#""message_id":"<good7@x.example>","#, "")
            .as_bytes(),
    ); // 9
    line(
        good_line(8)
            .replace("\"subject\":\"Hello 8\"", "\"subject\":8")
            .as_bytes(),
    ); // 10
    line(good_line(9).as_bytes()); // 11
    let dir = Scratch::new("bad-jsonl");
    let path = dir.path("bad.jsonl");
    fs::write(&path, &input).expect("write");
    let opts = ReadOptions {
        source: None,
        max_body_bytes: 2048,
    };
    let (records, rejected) = split(read_all(&path, None, &opts));
    let lines: Vec<_> = records.iter().map(|r| r.position.clone()).collect();
    assert_eq!(lines, [1, 3, 9, 11].map(Position::Line));
    let derived = &records[2];
    assert!(derived.external_id.starts_with("<derived."));
    assert_eq!(
        derived.notes,
        [format!(
            "no external_id or message_id: derived {}",
            derived.external_id
        )]
    );
    // 1-based: the byte after "Body " in line 2.
    let bad_byte = good_line(2).find("Body 2").map_or(0, |at| at + 6);
    let bad_utf8 = format!("invalid UTF-8 at byte {bad_byte} of the line");
    let want = [
        (2, bad_utf8.as_str()),
        (4, "invalid JSON at column 36: expected value"),
        (
            5,
            "bad date: sent_at \"yesterday\" is not an RFC 3339 or RFC 2822 date",
        ),
        (6, "no From address"),
        (
            7,
            "body is 2.9 KB, over the 2 KB limit (import.max_body_bytes)",
        ),
        (10, "field `subject` must be a string, not a number"),
    ];
    let got: Vec<(u64, &str)> = rejected
        .iter()
        .map(|r| match r.position {
            Position::Line(n) => (n, r.reason.as_str()),
            ref other => panic!("not a line: {other:?}"),
        })
        .collect();
    assert_eq!(got, want.map(|(n, reason)| (n as u64, reason)));
}

/// Good and broken messages in one mbox; returns it and the offsets of its
/// messages.
fn planted_mbox() -> (String, Vec<u64>) {
    let messages = [
        good_mail(1),
        good_mail(2).replace("From: Lead 2 <lead2@x.example>\n", ""),
        good_mail(3),
        good_mail(4).replace("Fri, 04 Mar 2024 10:00:00 +0000", "the 4th"),
        good_mail(5).replace("Body 5", &"y".repeat(3000)),
        good_mail(6).replace("Message-ID: <good6@x.example>\n", ""),
        good_mail(7).replace("Date: Fri, 07 Mar 2024 10:00:00 +0000\n", ""),
        good_mail(8),
    ];
    let mut mbox = String::new();
    let mut offsets = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        offsets.push(mbox.len() as u64);
        let from_line = if i == 3 {
            "From lead4@x.example ???"
        } else {
            "From lead@x.example Sat Mar  9 12:00:00 2024"
        };
        mbox.push_str(&format!("{from_line}\n{message}\n"));
    }
    (mbox, offsets)
}

#[test]
fn mbox_keeps_good_messages_and_rejects_each_bad_one_with_its_offset() {
    let (mbox, offsets) = planted_mbox();
    let dir = Scratch::new("bad-mbox");
    let path = dir.path("bad.mbox");
    fs::write(&path, &mbox).expect("write");
    let opts = ReadOptions {
        source: None,
        max_body_bytes: 2048,
    };
    let (records, rejected) = split(read_all(&path, None, &opts));
    let kept: Vec<_> = records.iter().map(|r| r.position.clone()).collect();
    assert_eq!(kept, [0, 2, 5, 6, 7].map(|i| Position::Offset(offsets[i])));
    assert!(records[2].external_id.starts_with("<derived."));
    assert_eq!(
        records[2].notes,
        [format!("no Message-ID: derived {}", records[2].external_id)]
    );
    assert_eq!(records[3].sent_at.to_rfc3339(), "2024-03-09T12:00:00+00:00");
    assert_eq!(
        records[3].notes,
        ["no Date header: used the mbox From line's date"]
    );
    let want = [
        Rejected {
            position: Position::Offset(offsets[1]),
            reason: "no From address".into(),
        },
        Rejected {
            position: Position::Offset(offsets[3]),
            reason: "bad date: Date \"the 4th\" is not a date, and none on the From line".into(),
        },
        Rejected {
            position: Position::Offset(offsets[4]),
            reason: "body is 2.9 KB, over the 2 KB limit (import.max_body_bytes)".into(),
        },
    ];
    assert_eq!(rejected, want);
}

#[test]
fn maildir_keeps_good_files_and_rejects_each_bad_one_with_its_path() {
    let dir = Scratch::new("bad-maildir");
    let root = dir.path("Maildir");
    for sub in [
        "cur",
        "new",
        "tmp",
        ".Sent/cur",
        ".Trash/cur",
        ".Drafts/new",
    ] {
        fs::create_dir_all(root.join(sub)).expect("mkdir");
    }
    let file = |sub: &str, name: &str, content: &str| {
        let path = root.join(sub).join(name);
        fs::write(&path, content).expect("write");
        path
    };
    let good1 = file("cur", "1000.a:2,S", &good_mail(1));
    let no_from = file(
        "new",
        "1001.b",
        &good_mail(2).replace("From: Lead 2 <lead2@x.example>\n", ""),
    );
    let bad_date = file(
        "cur",
        "1002.c:2,S",
        &good_mail(3).replace("Fri, 03 Mar 2024 10:00:00 +0000", "Fri, 32 Mar 2024"),
    );
    let no_date = file(
        "cur",
        "1003.d:2,S",
        &good_mail(4).replace("Date: Fri, 04 Mar 2024 10:00:00 +0000\n", ""),
    );
    let no_id = file(
        "new",
        "1004.e",
        &good_mail(5).replace("Message-ID: <good5@x.example>\n", ""),
    );
    let sent = file(".Sent/cur", "0999.f:2,S", &good_mail(6));
    file("cur", ".hidden", &good_mail(7));
    file("tmp", "1005.g", &good_mail(8));
    file(".Trash/cur", "1006.h", &good_mail(9));
    file(".Drafts/new", "1007.i", &good_mail(9));
    let (records, rejected) = split(read_all(&root, None, &ReadOptions::default()));
    let kept: Vec<_> = records.iter().map(|r| r.position.clone()).collect();
    assert_eq!(kept, [good1, no_id, sent].map(Position::File));
    assert!(records[1].external_id.starts_with("<derived."));
    let got: Vec<(Position, &str)> = rejected
        .iter()
        .map(|r| (r.position.clone(), r.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (Position::File(no_from), "no From address"),
            (
                Position::File(bad_date),
                "bad date: Date \"Fri, 32 Mar 2024\" is not a date"
            ),
            (Position::File(no_date), "bad date: no Date header"),
        ]
    );
}

#[test]
fn derived_ids_are_stable_across_reads() {
    let mut corpus = corpus(10, 16);
    for message in corpus.messages.iter_mut().step_by(3) {
        message.message_id = None;
    }
    let dir = Scratch::new("derived");
    let (mbox, jsonl) = (dir.path("a.mbox"), dir.path("a.jsonl"));
    corpus.write_mbox(&mbox).expect("mbox");
    corpus.write_jsonl(&jsonl).expect("jsonl");
    for path in [&mbox, &jsonl] {
        let ids = || -> Vec<String> {
            only_records(read_all(path, None, &ReadOptions::default()))
                .into_iter()
                .map(|r| r.external_id)
                .collect()
        };
        let first = ids();
        assert_eq!(first, ids());
        let derived = first
            .iter()
            .filter(|id| id.starts_with("<derived."))
            .count();
        assert_eq!(derived, corpus.messages.len().div_ceil(3));
    }
}

// ---------------------------------------------------------- encodings, mbox

fn parse_one(raw: &[u8]) -> MailRecord {
    match parse_message(raw, Position::Offset(0), &ReadOptions::default()) {
        Item::Record(record) => *record,
        Item::Rejected(r) => panic!("rejected: {r}"),
    }
}

#[test]
fn mboxrd_from_lines_are_unescaped_once() {
    let mbox = "From a@x.example Sat Mar  9 12:00:00 2024\n\
        From: a@x.example\nDate: Sat, 09 Mar 2024 12:00:00 +0000\nMessage-ID: <u@x>\n\n\
        >From the start\n\n>From after a blank line\n>>From quoted\n>>>From deeper\n> From not escaped\n>Fromage\n";
    let records = only_records(
        read_mbox(
            std::io::Cursor::new(mbox.to_owned()),
            &ReadOptions::default(),
        )
        .collect(),
    );
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].body_text,
        "From the start\n\nFrom after a blank line\n>From quoted\n>>From deeper\n> From not escaped\n>Fromage"
    );
}

#[test]
fn windows_1252_latin1_and_iso_2022_jp_bodies_decode() {
    let mut cp1252 = b"From: a@x.example\nDate: Sat, 09 Mar 2024 12:00:00 +0000\n\
        Content-Type: text/plain; charset=windows-1252\n\n"
        .to_vec();
    cp1252.extend_from_slice(b"\x93Caf\xe9\x94 \x80 5 \x96 fine\n");
    assert_eq!(
        parse_one(&cp1252).body_text,
        "\u{201c}Café\u{201d} € 5 – fine"
    );

    let mut latin1 = b"From: =?ISO-8859-1?Q?Fran=E7oise?= <f@x.example>\nDate: Sat, 09 Mar 2024 12:00:00 +0000\n\
        Subject: =?iso-8859-1?q?r=E9servation?=\nContent-Type: text/plain; charset=iso-8859-1\n\
        Content-Transfer-Encoding: quoted-printable\n\nd=E9j=E0 vu\n"
        .to_vec();
    let record = parse_one(&latin1);
    assert_eq!(record.body_text, "déjà vu");
    assert_eq!(record.subject, "réservation");
    assert_eq!(record.from_name.as_deref(), Some("Françoise"));
    latin1.clear();

    let mut jp = b"From: =?ISO-2022-JP?B?GyRCRURDZhsoQg==?= <tanaka@x.example>\n\
        Date: Sat, 09 Mar 2024 12:00:00 +0900\nSubject: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=\n\
        Content-Type: text/plain; charset=ISO-2022-JP\nContent-Transfer-Encoding: 7bit\n\n"
        .to_vec();
    jp.extend_from_slice(b"\x1b$B$3$s$K$A$O\x1b(B\n");
    let record = parse_one(&jp);
    assert_eq!(record.body_text, "こんにちは");
    assert_eq!(record.subject, "こんにちは");
    assert_eq!(record.from_name.as_deref(), Some("田中"));
    assert_eq!(record.sent_at.to_rfc3339(), "2024-03-09T03:00:00+00:00");
}

#[test]
fn headers_worth_keeping_are_kept_decoded() {
    let raw = "Message-ID: <k@x>\nFrom: =?UTF-8?B?Sm9zw6k=?= <Jose@X.example>\nTo: a@x.example\n\
        Cc: B <b@x.example>\nReply-To: r@x.example\nList-Id: Sales <sales.x.example>\nX-Mailer: Mutt 2.2\n\
        Date: Sat, 09 Mar 2024 12:00:00 +0000\nReceived: from somewhere\nContent-Type: text/plain;\n charset=utf-8\n\nHi\n";
    let record = parse_one(raw.as_bytes());
    let headers = record.headers.as_object().expect("an object");
    let mut names: Vec<&str> = headers.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "Cc",
            "Content-Type",
            "Date",
            "From",
            "List-Id",
            "Message-ID",
            "Reply-To",
            "To",
            "X-Mailer"
        ]
    );
    assert_eq!(headers["From"], "José <Jose@X.example>");
    assert_eq!(headers["Content-Type"], "text/plain; charset=utf-8");
    assert_eq!(headers["X-Mailer"], "Mutt 2.2");
}

/// mail-parser 0.11 has a debug assertion on this nested, empty
/// message/rfc822 (release builds recover instead): either way the message
/// costs only itself, and reading goes on.
#[test]
fn a_message_the_mime_parser_fails_on_costs_only_that_message() {
    let choking = "From: a@x.example\nDate: Sat, 09 Mar 2024 12:00:00 +0000\n\
        Content-Type: multipart/alternative; boundary=\"b\"\n\n--b\nContent-Type: message/rfc822\n\n\
        Content-Type: message/rfc822\n\n\n--b--";
    let mbox = format!(
        "From a@x.example Sat Mar  9 12:00:00 2024\n{choking}\n\nFrom b Sat Mar  9 12:00:00 2024\n{}\n",
        good_mail(1)
    );
    let items: Vec<Item> = read_mbox(
        std::io::Cursor::new(mbox.into_bytes()),
        &ReadOptions::default(),
    )
    .collect();
    match &items[..] {
        [Item::Rejected(r), Item::Record(good)] => {
            assert_eq!(
                r.reason,
                "could not parse the message: the MIME parser failed on it"
            );
            assert_eq!(good.external_id, "<good1@x.example>");
        }
        [Item::Record(_), Item::Record(good)] => assert_eq!(good.external_id, "<good1@x.example>"),
        other => panic!("unexpected: {other:?}"),
    }
}

// --------------------------------------------------------- whole-input errors

#[test]
fn whole_input_failures_say_what_to_do() {
    let dir = Scratch::new("errors");
    let missing = dir.path("nope.jsonl");
    let unknown = dir.path("notes.txt");
    let empty = dir.path("empty.jsonl");
    let folder = dir.path("folder");
    fs::write(&unknown, "Received: from x\n").expect("write");
    fs::write(&empty, " \n\n").expect("write");
    fs::create_dir_all(&folder).expect("mkdir");
    let message = |result: Result<ImportFormat, ReadError>| {
        result.err().map(|e| e.to_string()).unwrap_or_default()
    };
    assert!(
        message(detect(&missing)).ends_with("nope.jsonl: no such file or folder; check the path")
    );
    assert!(message(detect(&unknown)).ends_with("pass --format jsonl|mbox|maildir"));
    assert!(message(detect(&empty)).ends_with("the file is empty; nothing to import"));
    assert!(message(detect(&folder)).contains("not a Maildir (no cur/ or new/ inside)"));
    let read_error = |path: &Path, format| {
        read(path, Some(format), &ReadOptions::default())
            .err()
            .map(|e| e.to_string())
    };
    assert!(
        read_error(&unknown, ImportFormat::Maildir)
            .is_some_and(|e| e.contains("--format maildir reads a folder"))
    );
    assert!(
        read_error(&folder, ImportFormat::Mbox)
            .is_some_and(|e| e.contains("--format mbox reads a file"))
    );
    assert!(read_error(&missing, ImportFormat::Jsonl).is_some_and(|e| e.contains("no such file")));
    // Forced, an empty file or a bare message read as what they are.
    assert_eq!(
        read(&empty, Some(ImportFormat::Jsonl), &ReadOptions::default())
            .map(Iterator::count)
            .ok(),
        Some(0)
    );
    let bare = read_all(&unknown, Some(ImportFormat::Mbox), &ReadOptions::default());
    assert!(matches!(&bare[..], [Item::Rejected(r)] if r.reason == "no From address"));
}

// ---------------------------------------------------------------- properties

fn sample_mail() -> Vec<u8> {
    let corpus = corpus(4, 17);
    corpus
        .messages
        .iter()
        .find(|m| m.mime == MimeShape::WithAttachment || m.mime == MimeShape::Alternative)
        .or(corpus.messages.first())
        .map(mail_bytes)
        .unwrap_or_default()
}

/// A structured-ish mutation: overwrite, insert, delete or duplicate at a
/// position (modulo the message length).
#[derive(Debug, Clone)]
enum Mutation {
    Overwrite(usize, Vec<u8>),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Duplicate(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let bytes = prop::collection::vec(
        prop_oneof![
            any::<u8>(),
            Just(b'\n'),
            Just(b'\r'),
            Just(b':'),
            Just(b'='),
            Just(b'-'),
            Just(b'"'),
            Just(b'<'),
            Just(b';'),
        ],
        0..24,
    );
    let snippets = prop_oneof![
        bytes,
        Just(b"\nContent-Type: multipart/mixed; boundary=\"x\"\n".to_vec()),
        Just(b"\n--x\n".to_vec()),
        Just(b"\nContent-Transfer-Encoding: base64\n".to_vec()),
        Just(b"=?UTF-8?B?////?=".to_vec()),
        Just(b"=?x?Q?=ZZ?=".to_vec()),
        Just(b"\nFrom ".to_vec()),
        Just(b"\nDate: Mon, 99 Foo 99999 99:99:99 +9999\n".to_vec()),
        Just(b"\nContent-Type: message/rfc822\n\n".to_vec()),
        Just(b"charset=iso-2022-jp\n\x1b$B".to_vec()),
    ];
    prop_oneof![
        (any::<usize>(), snippets.clone()).prop_map(|(at, b)| Mutation::Overwrite(at, b)),
        (any::<usize>(), snippets).prop_map(|(at, b)| Mutation::Insert(at, b)),
        (any::<usize>(), 0..200usize).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (any::<usize>(), 0..400usize).prop_map(|(at, n)| Mutation::Duplicate(at, n)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(message: &mut Vec<u8>, mutation: &Mutation) {
    let len = message.len().max(1);
    match mutation {
        Mutation::Overwrite(at, bytes) => {
            let at = at % len;
            for (i, b) in bytes.iter().enumerate() {
                if let Some(slot) = message.get_mut(at + i) {
                    *slot = *b;
                }
            }
        }
        Mutation::Insert(at, bytes) => {
            let at = (at % len).min(message.len());
            message.splice(at..at, bytes.iter().copied());
        }
        Mutation::Delete(at, n) => {
            let at = (at % len).min(message.len());
            let end = (at + n).min(message.len());
            message.drain(at..end);
        }
        Mutation::Duplicate(at, n) => {
            let at = (at % len).min(message.len());
            let end = (at + n).min(message.len());
            let copy = message[at..end].to_vec();
            message.splice(end..end, copy);
        }
        Mutation::Truncate(at) => message.truncate(at % len),
    }
}

/// 256 cases unless `PROPTEST_CASES` asks for more (a longer fuzzing run).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]
    #[test]
    fn arbitrary_bytes_never_break_the_jsonl_reader(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
        let items: Vec<Item> = read_jsonl(std::io::Cursor::new(bytes), &ReadOptions::default()).collect();
        prop_assert!(items.len() <= lines);
    }

    #[test]
    fn arbitrary_bytes_never_break_the_mbox_reader(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let items: Vec<Item> = read_mbox(std::io::Cursor::new(bytes.clone()), &ReadOptions::default()).collect();
        prop_assert!(items.len() <= bytes.len());
    }

    #[test]
    fn arbitrary_bytes_never_break_the_message_parser(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_message(&bytes, Position::Offset(0), &ReadOptions::default());
    }

    #[test]
    fn jsonish_lines_never_break_the_jsonl_reader(
        fields in prop::collection::vec(
            (
                prop::sample::select(vec!["from", "to", "sent_at", "references", "attachments", "lead", "headers", "direction", "message_id", "body_text", "external_id"]),
                prop_oneof![
                    Just("null".to_owned()),
                    Just("[]".to_owned()),
                    Just("{}".to_owned()),
                    Just("-1".to_owned()),
                    Just("1e999".to_owned()),
                    Just("[{\"size\": 1.5}]".to_owned()),
                    Just("{\"email\": 3}".to_owned()),
                    Just("\"a@b.c\"".to_owned()),
                    Just("\"2024-01-01T00:00:00Z\"".to_owned()),
                    "\"[^\"\\\\\n\r]{0,20}\"",
                ],
            ),
            0..8,
        )
    ) {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
        let line = format!("{{{}}}\n", body.join(", "));
        let items: Vec<Item> = read_jsonl(std::io::Cursor::new(line.into_bytes()), &ReadOptions::default()).collect();
        prop_assert_eq!(items.len(), 1);
    }

    #[test]
    fn mutated_messages_never_break_the_parser_or_the_mbox_reader(
        mutations in prop::collection::vec(mutation(), 1..6)
    ) {
        let mut message = sample_mail();
        for m in &mutations {
            apply(&mut message, m);
        }
        let _ = parse_message(&message, Position::Offset(0), &ReadOptions::default());
        let mut mbox = b"From x Sat Mar  9 12:00:00 2024\n".to_vec();
        mbox.extend_from_slice(&message);
        let items: Vec<Item> = read_mbox(std::io::Cursor::new(mbox), &ReadOptions::default()).collect();
        prop_assert!(!items.is_empty());
    }
}

// ---------------------------------------------------------------- throughput

/// Throughput on one core: `cargo test --release --test mail_readers --
/// --ignored --nocapture throughput`. Prints messages per second of wall
/// time and of this thread's CPU time (the machine may be busy with other
/// work); asserts nothing about time.
#[test]
#[ignore = "a measurement: run in release mode with --ignored --nocapture"]
fn throughput() {
    let dir = Scratch::new("throughput");
    let spec = CorpusSpec::new(205_000, 42);
    let jsonl = dir.path("big.jsonl");
    let written = measure("generate + write JSONL", || {
        spec.write_jsonl(&jsonl).expect("write jsonl")
    });
    measure("read JSONL", || read_count(&jsonl, written));

    let corpus = Corpus::generate(&CorpusSpec::new(20_500, 43));
    let messages = corpus.expected_messages();
    let mbox = dir.path("big.mbox");
    corpus.write_mbox(&mbox).expect("write mbox");
    measure("read mbox", || read_count(&mbox, messages));
    let maildir = dir.path("Maildir");
    measure("write Maildir", || {
        corpus.write_maildir(&maildir).expect("write maildir");
        messages
    });
    measure("read Maildir", || read_count(&maildir, messages));
}

/// Runs `work` (which returns how many messages it handled) and prints its
/// rates.
fn measure(what: &str, work: impl FnOnce() -> usize) -> usize {
    let (wall, cpu) = (std::time::Instant::now(), thread_cpu_seconds());
    let n = work();
    let wall = wall.elapsed().as_secs_f64();
    let cpu = thread_cpu_seconds()
        .zip(cpu)
        .map(|(end, start)| end - start);
    let per_cpu = cpu.map_or("?".to_owned(), |cpu| format!("{:.0}", n as f64 / cpu));
    println!(
        "{what:<24} {n:>9} messages: {:>8.0}/s wall, {per_cpu:>8}/s CPU",
        n as f64 / wall
    );
    n
}

/// This thread's CPU time (Linux: the first field of schedstat, in ns).
fn thread_cpu_seconds() -> Option<f64> {
    let stat = fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

fn read_count(path: &Path, expected: usize) -> usize {
    let items = read(path, None, &ReadOptions::default()).expect("open");
    let count = items.filter(|item| matches!(item, Item::Record(_))).count();
    assert_eq!(count, expected);
    count
}
