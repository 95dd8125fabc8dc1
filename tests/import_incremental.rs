//! `replydesk import PATH` again reads only what is new since the last
//! import of the path: unchanged Maildir folders and files, an mbox or
//! JSONL file's appended tail; `--full` reads everything; a failed run
//! records nothing, so the next one imports the rest.

mod common;

use common::TestDb;
use replydesk::import::{self, ImportOptions, ImportReport, PathInput, ReadScope};
use replydesk::mail::ReadOptions;
use replydesk::mail::corpus::{Corpus, CorpusSpec, DEFAULT_REPS};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A folder removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "replydesk-incremental-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn options() -> ImportOptions {
    ImportOptions {
        streams: 2,
        label: "test".into(),
        ..ImportOptions::default()
    }
}

async fn try_import(t: &TestDb, path: &Path, full: bool) -> Result<ImportReport, String> {
    let input = PathInput {
        path,
        format: None,
        read: ReadOptions::default(),
        full,
    };
    import::import_path(&t.db, &input, &options(), |_| {})
        .await
        .map_err(|e| e.to_string())
}

async fn import(t: &TestDb, path: &Path) -> ImportReport {
    try_import(t, path, false).await.expect("the import runs")
}

async fn add_corpus_reps(t: &TestDb) {
    for email in DEFAULT_REPS {
        t.rep(email, email.split('@').next().unwrap_or(email)).await;
    }
}

async fn messages(t: &TestDb) -> i64 {
    t.count("SELECT count(*) FROM messages", &[]).await
}

fn corpus(conversations: usize, seed: u64) -> Corpus {
    Corpus::generate(&CorpusSpec::new(conversations, seed))
}

/// A lead's new message, as a Maildir file would hold it.
fn new_mail(n: usize) -> String {
    format!(
        "From: New Lead {n} <new.lead.{n}@example.org>\r\nTo: dana.cruz@example.com\r\n\
         Subject: Is the sofa still there? ({n})\r\nDate: Mon, 03 Mar 2025 10:00:00 +0000\r\n\
         Message-ID: <new-{n}@example.org>\r\n\r\nHello, is it still available?\r\n"
    )
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn append(path: &Path, bytes: &[u8]) {
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(bytes).unwrap();
}

#[tokio::test]
async fn an_unchanged_maildir_is_not_read_and_a_new_file_is_the_only_one_read() {
    let t = TestDb::new().await;
    add_corpus_reps(&t).await;
    let dir = Scratch::new("maildir");
    let c = corpus(40, 5);
    let maildir = dir.path("Maildir");
    c.write_maildir(&maildir).unwrap();
    let first = import(&t, &maildir).await;
    assert_eq!(first.scope, ReadScope::All);
    assert_eq!(first.read, c.expected_messages() as u64);
    assert_eq!(first.imported, c.expected_messages() as u64);

    let again = import(&t, &maildir).await;
    assert_eq!(again.scope, ReadScope::Unchanged);
    assert_eq!((again.read, again.imported), (0, 0));

    std::fs::write(maildir.join("new/1741000000.M1P1.new-mail"), new_mail(1)).unwrap();
    let one = import(&t, &maildir).await;
    assert_eq!(one.scope, ReadScope::NewFiles { files: 1 });
    assert_eq!((one.read, one.imported, one.duplicates), (1, 1, 0));
    assert_eq!(messages(&t).await, c.expected_messages() as i64 + 1);

    let after = import(&t, &maildir).await;
    assert_eq!(after.scope, ReadScope::Unchanged);
    assert_eq!(after.read, 0);
}

#[tokio::test]
async fn a_flag_change_or_a_move_to_cur_or_another_folder_is_not_new_mail() {
    let t = TestDb::new().await;
    add_corpus_reps(&t).await;
    let dir = Scratch::new("flags");
    let c = corpus(30, 6);
    let maildir = dir.path("Maildir");
    c.write_maildir(&maildir).unwrap();
    import(&t, &maildir).await;

    let cur = files_in(&maildir.join("cur"));
    let seen = cur[0].to_string_lossy().to_string();
    let replied = seen.replace(":2,S", ":2,RS");
    assert_ne!(seen, replied);
    std::fs::rename(&seen, &replied).unwrap();
    let new = files_in(&maildir.join("new"));
    assert!(!new.is_empty(), "the corpus puts some mail in new/");
    let name = new[0].file_name().unwrap().to_string_lossy().to_string();
    std::fs::rename(&new[0], maildir.join("cur").join(format!("{name}:2,S"))).unwrap();
    let archive = maildir.join(".Archive");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(archive.join(sub)).unwrap();
    }
    let moved = &cur[1];
    std::fs::rename(moved, archive.join("cur").join(moved.file_name().unwrap())).unwrap();

    let report = import(&t, &maildir).await;
    assert_eq!(report.scope, ReadScope::Unchanged, "{report:?}");
    assert_eq!((report.read, report.imported), (0, 0));
    assert_eq!(messages(&t).await, c.expected_messages() as i64);
}

#[tokio::test]
async fn an_appended_mbox_is_read_from_where_the_last_import_stopped() {
    let t = TestDb::new().await;
    add_corpus_reps(&t).await;
    let dir = Scratch::new("mbox");
    let (old, new) = (corpus(30, 7), corpus(8, 8));
    let mbox = dir.path("inbox.mbox");
    old.write_mbox(&mbox).unwrap();
    let first = import(&t, &mbox).await;
    assert_eq!(first.imported, old.expected_messages() as u64);
    let before = std::fs::metadata(&mbox).unwrap().len();

    let tail = dir.path("tail.mbox");
    new.write_mbox(&tail).unwrap();
    let mut tail_bytes = std::fs::read(&tail).unwrap();
    // A message the parser refuses, reported at its offset in the whole file.
    let broken_at = before + tail_bytes.len() as u64;
    tail_bytes.extend_from_slice(b"From x Tue Jan  2 10:00:00 2024\n\n");
    append(&mbox, &tail_bytes);

    let report = import(&t, &mbox).await;
    assert_eq!(
        report.scope,
        ReadScope::Appended {
            bytes: tail_bytes.len() as u64
        }
    );
    assert_eq!(
        report.read,
        new.expected_messages() as u64 + 1,
        "only the tail"
    );
    assert_eq!(report.imported, new.expected_messages() as u64);
    assert_eq!(report.duplicates, 0);
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(
        report.rejected[0].position.to_string(),
        format!("byte offset {broken_at}")
    );
    assert_eq!(
        messages(&t).await,
        (old.expected_messages() + new.expected_messages()) as i64
    );

    let again = import(&t, &mbox).await;
    assert_eq!((again.scope, again.read), (ReadScope::Unchanged, 0));
}

#[tokio::test]
async fn an_appended_jsonl_file_is_read_from_its_last_whole_line() {
    let t = TestDb::new().await;
    let dir = Scratch::new("jsonl");
    let (old, new) = (corpus(25, 9), corpus(6, 10));
    let path = dir.path("leads.jsonl");
    old.write_jsonl(&path).unwrap();
    let lines_before = old.expected_messages() as u64;
    import(&t, &path).await;

    let tail = dir.path("tail.jsonl");
    new.write_jsonl(&tail).unwrap();
    let mut tail_bytes = std::fs::read(&tail).unwrap();
    tail_bytes.extend_from_slice(b"{not json\n");
    append(&path, &tail_bytes);

    let report = import(&t, &path).await;
    assert_eq!(
        report.scope,
        ReadScope::Appended {
            bytes: tail_bytes.len() as u64
        }
    );
    assert_eq!(report.read, new.expected_messages() as u64 + 1);
    assert_eq!(report.imported, new.expected_messages() as u64);
    let broken_line = lines_before + new.expected_messages() as u64 + 1;
    assert_eq!(
        report.rejected[0].position.to_string(),
        format!("line {broken_line}"),
        "lines are numbered as in the whole file"
    );

    // A last line still being written is read again once it is whole.
    let extra = corpus(1, 11);
    let one = dir.path("one.jsonl");
    extra.write_jsonl(&one).unwrap();
    let line = std::fs::read(&one).unwrap();
    let first_line = &line[..line.iter().position(|&b| b == b'\n').unwrap() + 1];
    let (head, rest) = first_line.split_at(first_line.len() / 2);
    append(&path, head);
    let partial = import(&t, &path).await;
    assert_eq!((partial.read, partial.imported), (1, 0));
    assert_eq!(partial.rejected.len(), 1, "half a line is not JSON");
    append(&path, rest);
    let whole = import(&t, &path).await;
    assert_eq!((whole.read, whole.imported), (1, 1));
}

#[tokio::test]
async fn a_file_rewritten_in_its_head_is_read_again_in_full_without_duplicates() {
    let t = TestDb::new().await;
    let dir = Scratch::new("rewritten");
    let c = corpus(20, 12);
    let path = dir.path("leads.jsonl");
    c.write_jsonl(&path).unwrap();
    import(&t, &path).await;

    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.swap(0, 1);
    let more = corpus(3, 13);
    let more_path = dir.path("more.jsonl");
    more.write_jsonl(&more_path).unwrap();
    let more_text = std::fs::read_to_string(&more_path).unwrap();
    std::fs::write(&path, lines.join("\n") + "\n" + &more_text).unwrap();

    let report = import(&t, &path).await;
    assert_eq!(report.scope, ReadScope::Changed);
    let all = (c.expected_messages() + more.expected_messages()) as u64;
    assert_eq!(report.read, all, "read in full");
    assert_eq!(report.imported, more.expected_messages() as u64);
    assert_eq!(report.duplicates, c.expected_messages() as u64);
    assert_eq!(messages(&t).await, all as i64, "no duplicates stored");
}

#[tokio::test]
async fn full_reads_everything_again() {
    let t = TestDb::new().await;
    add_corpus_reps(&t).await;
    let dir = Scratch::new("full");
    let c = corpus(20, 14);
    let maildir = dir.path("Maildir");
    c.write_maildir(&maildir).unwrap();
    import(&t, &maildir).await;
    let full = try_import(&t, &maildir, true).await.unwrap();
    assert_eq!(full.scope, ReadScope::Full);
    assert_eq!(full.read, c.expected_messages() as u64);
    assert_eq!(
        (full.imported, full.duplicates),
        (0, c.expected_messages() as u64)
    );
    let after = import(&t, &maildir).await;
    assert_eq!((after.scope, after.read), (ReadScope::Unchanged, 0));
}

/// Make the merge fail on a message with this subject.
async fn break_merge_on(t: &TestDb, subject: &str) {
    t.client()
        .await
        .batch_execute(&format!(
            "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF NEW.subject = '{subject}' THEN RAISE EXCEPTION 'refused by the test'; END IF;
               RETURN NEW;
             END $$;
             CREATE TRIGGER test_refuse BEFORE INSERT ON messages
               FOR EACH ROW EXECUTE FUNCTION test_refuse();"
        ))
        .await
        .unwrap();
}

async fn mend_merge(t: &TestDb) {
    t.client()
        .await
        .batch_execute("DROP TRIGGER test_refuse ON messages; DROP FUNCTION test_refuse();")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_failed_run_records_nothing_so_the_next_one_imports_the_rest() {
    let t = TestDb::new().await;
    add_corpus_reps(&t).await;
    let dir = Scratch::new("failed");
    let (old, new) = (corpus(15, 15), corpus(5, 16));
    let path = dir.path("leads.jsonl");
    old.write_jsonl(&path).unwrap();
    import(&t, &path).await;
    let recorded = "SELECT read_offset FROM import_sources WHERE format = 'jsonl'";
    let offset_before = t.count(recorded, &[]).await;

    let tail = dir.path("tail.jsonl");
    new.write_jsonl(&tail).unwrap();
    append(&path, &std::fs::read(&tail).unwrap());
    let last = new.messages.last().unwrap().subject.replace('\'', "''");
    break_merge_on(&t, &last).await;
    let failed = try_import(&t, &path, false).await;
    assert!(failed.is_err(), "the merge fails: {failed:?}");
    assert_eq!(
        t.count(recorded, &[]).await,
        offset_before,
        "nothing recorded"
    );
    mend_merge(&t).await;
    let rest = import(&t, &path).await;
    assert_eq!(rest.read, new.expected_messages() as u64);
    assert_eq!(rest.imported, new.expected_messages() as u64);

    let maildir = dir.path("Maildir");
    old.write_maildir(&maildir).unwrap();
    import(&t, &maildir).await;
    std::fs::write(maildir.join("new/1741000000.M1P1.first"), new_mail(1)).unwrap();
    std::fs::write(maildir.join("new/1741000000.M2P1.second"), new_mail(2)).unwrap();
    break_merge_on(&t, "Is the sofa still there? (2)").await;
    assert!(try_import(&t, &maildir, false).await.is_err());
    mend_merge(&t).await;
    let rest = import(&t, &maildir).await;
    assert_eq!(rest.scope, ReadScope::NewFiles { files: 2 });
    assert_eq!((rest.read, rest.imported), (2, 2));
}

fn run_binary(t: &TestDb, args: &[&str]) -> Output {
    let home = std::env::temp_dir().join("replydesk-incremental-test-home");
    Command::new(env!("CARGO_BIN_EXE_replydesk"))
        .args(["--database-url", &t.url, "--rep", "dana.cruz@example.com"])
        .args(args)
        .env_remove("DATABASE_URL")
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", &home)
        .stdin(Stdio::null())
        .output()
        .expect("run replydesk")
}

fn stdout(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test]
async fn the_summary_says_what_was_left_unread() {
    let t = TestDb::new().await;
    add_corpus_reps(&t).await;
    let dir = Scratch::new("summary");
    let c = corpus(10, 17);
    let maildir = dir.path("Maildir");
    c.write_maildir(&maildir).unwrap();
    let path = maildir.to_str().unwrap();
    let first = stdout(&run_binary(&t, &["import", path]));
    assert!(first.starts_with("imported "), "{first}");
    assert_eq!(first.lines().count(), 1, "{first}");
    assert_eq!(
        stdout(&run_binary(&t, &["import", path])),
        "unchanged since the last import: nothing to read (--full reads it all again)"
    );
    std::fs::write(maildir.join("new/1741000000.M1P1.new-mail"), new_mail(1)).unwrap();
    assert_eq!(
        stdout(&run_binary(&t, &["import", path])),
        "read the 1 new file; the others are unchanged since the last import\n\
         imported 1 messages (1 new conversations, 1 new leads), 0 duplicates, 0 rejected"
    );
    let full = stdout(&run_binary(&t, &["import", path, "--full"]));
    assert_eq!(
        full,
        format!(
            "read everything again, as --full asks\n\
             imported 0 messages (0 new conversations, 0 new leads), {} duplicates, 0 rejected",
            c.expected_messages() + 1
        )
    );

    let jsonl = dir.path("leads.jsonl");
    c.write_jsonl(&jsonl).unwrap();
    let jsonl_path = jsonl.to_str().unwrap();
    stdout(&run_binary(&t, &["import", jsonl_path, "--source", "crm"]));
    let more = corpus(2, 18);
    let tail = dir.path("tail.jsonl");
    more.write_jsonl(&tail).unwrap();
    let tail_bytes = std::fs::read(&tail).unwrap();
    append(&jsonl, &tail_bytes);
    let appended = stdout(&run_binary(&t, &["import", jsonl_path, "--source", "crm"]));
    let size = replydesk::mail::human_size(tail_bytes.len());
    assert!(
        appended.starts_with(&format!("read {size} appended since the last import\n")),
        "{appended}"
    );
    let other_source = stdout(&run_binary(&t, &["import", jsonl_path]));
    assert!(
        other_source.starts_with("imported "),
        "another --source is another source: {other_source}"
    );
}
