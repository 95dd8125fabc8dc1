//! Settings precedence and secret handling.

use replydesk::config::{self, Overrides, Secret, load_from, redact_url};
use std::collections::BTreeMap;
use std::io::Write;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn file(text: &str) -> tempfile_like::File {
    tempfile_like::File::new(text)
}

/// A config file in the target dir (no extra dependency needed).
mod tempfile_like {
    use super::*;
    pub struct File(pub std::path::PathBuf);
    impl File {
        pub fn new(text: &str) -> File {
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir =
                std::env::temp_dir().join(format!("replydesk-config-test-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("config-{n}.toml"));
            let mut f = std::fs::File::create(&path).unwrap();
            f.write_all(text.as_bytes()).unwrap();
            File(path)
        }
    }
    impl Drop for File {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

fn with_file(f: &tempfile_like::File) -> Overrides {
    Overrides {
        config_path: Some(f.0.clone()),
        ..Overrides::default()
    }
}

#[test]
fn defaults_apply_without_file_or_env() {
    let missing = Overrides {
        config_path: None,
        ..Overrides::default()
    };
    let loaded = load_from(&missing, &env(&[("USER", "dana")])).unwrap();
    let s = loaded.settings;
    assert_eq!(s.undo_window_secs, 10);
    assert_eq!(s.page_size, 50);
    assert_eq!(s.database_url.expose(), config::DEFAULT_DATABASE_URL);
    assert_eq!(s.rep, "dana", "rep falls back to $USER");
    assert_eq!(s.theme.name, "default");
}

#[test]
fn flag_beats_env_beats_file_beats_defaults() {
    let f = file(
        "undo_window_secs = 20\npage_size = 30\ndatabase_url = \"postgres://file/db\"\nrep = \"file@example.com\"\n[theme]\nname = \"mono\"\n",
    );
    // file over defaults
    let s = load_from(&with_file(&f), &env(&[])).unwrap().settings;
    assert_eq!((s.undo_window_secs, s.page_size), (20, 30));
    assert_eq!(s.database_url.expose(), "postgres://file/db");
    assert_eq!(s.rep, "file@example.com");
    // env over file
    let e = env(&[
        ("REPLYDESK_UNDO_WINDOW_SECS", "30"),
        ("DATABASE_URL", "postgres://env/db"),
        ("REPLYDESK_REP", "env@example.com"),
        ("REPLYDESK_AI__CHAT_MODEL", "gpt-x"),
    ]);
    let s = load_from(&with_file(&f), &e).unwrap().settings;
    assert_eq!(s.undo_window_secs, 30);
    assert_eq!(s.page_size, 30, "untouched keys keep the file's value");
    assert_eq!(s.database_url.expose(), "postgres://env/db");
    assert_eq!(s.rep, "env@example.com");
    assert_eq!(
        s.ai.chat_model, "gpt-x",
        "nested keys with a double underscore"
    );
    // REPLYDESK_DATABASE_URL beats DATABASE_URL
    let e2 = env(&[
        ("DATABASE_URL", "postgres://env/db"),
        ("REPLYDESK_DATABASE_URL", "postgres://replydesk-env/db"),
    ]);
    let s = load_from(&with_file(&f), &e2).unwrap().settings;
    assert_eq!(s.database_url.expose(), "postgres://replydesk-env/db");
    // flags over env
    let mut o = with_file(&f);
    o.database_url = Some(Secret::new("postgres://flag/db"));
    o.rep = Some("flag@example.com".into());
    let s = load_from(&o, &e).unwrap().settings;
    assert_eq!(s.database_url.expose(), "postgres://flag/db");
    assert_eq!(s.rep, "flag@example.com");
}

#[test]
fn no_color_forces_the_mono_theme() {
    let missing = Overrides::default();
    let s = load_from(&missing, &env(&[("NO_COLOR", "1")]))
        .unwrap()
        .settings;
    assert_eq!(s.theme.name, "mono");
}

#[test]
fn bad_files_and_values_give_one_line_errors() {
    let f = file("undo_window_secs = \"ten\"\n");
    let err = load_from(&with_file(&f), &env(&[]))
        .unwrap_err()
        .to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("is not valid") && err.contains("undo_window_secs"),
        "{err}"
    );
    let f = file("this is not toml");
    let err = load_from(&with_file(&f), &env(&[]))
        .unwrap_err()
        .to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    let f = file("unknown_key = 1\n");
    let err = load_from(&with_file(&f), &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown_key"), "{err}");
    let o = Overrides {
        config_path: Some("/nonexistent/replydesk.toml".into()),
        ..Overrides::default()
    };
    let err = load_from(&o, &env(&[])).unwrap_err().to_string();
    assert!(err.contains("cannot be read"), "{err}");
}

#[test]
fn secrets_never_show_in_debug_or_errors() {
    let f = file("[ai]\napi_key = \"sk-very-secret-key\"\ndatabase_url = \"x\"\n");
    // An invalid file that contains a key: the error must not echo it.
    let err = load_from(&with_file(&f), &env(&[]))
        .unwrap_err()
        .to_string();
    assert!(!err.contains("sk-very-secret-key"), "{err}");

    let f = file(
        "database_url = \"postgres://u:hunter2@db/x\"\n[ai]\napi_key = \"sk-very-secret-key\"\n",
    );
    let loaded = load_from(&with_file(&f), &env(&[])).unwrap();
    let dump = format!("{:?}", loaded.settings);
    assert!(
        !dump.contains("sk-very-secret-key") && !dump.contains("hunter2"),
        "{dump}"
    );
    assert!(dump.contains("***"));
    assert_eq!(format!("{}", loaded.settings.ai.api_key), "***");
    assert_eq!(loaded.settings.ai.api_key.expose(), "sk-very-secret-key");
}

#[cfg(unix)]
#[test]
fn a_config_readable_by_others_with_secrets_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let f = file("[ai]\napi_key = \"sk-1\"\n");
    std::fs::set_permissions(&f.0, std::fs::Permissions::from_mode(0o644)).unwrap();
    let loaded = load_from(&with_file(&f), &env(&[])).unwrap();
    assert_eq!(loaded.warnings.len(), 1);
    assert!(loaded.warnings[0].contains("chmod 600"));
    std::fs::set_permissions(&f.0, std::fs::Permissions::from_mode(0o600)).unwrap();
    let loaded = load_from(&with_file(&f), &env(&[])).unwrap();
    assert!(loaded.warnings.is_empty());
}

#[test]
fn urls_are_redacted_for_messages() {
    assert_eq!(
        redact_url("postgres://u:hunter2@db:5432/x"),
        "postgres://u:***@db:5432/x"
    );
    assert_eq!(redact_url("postgres://u@db/x"), "postgres://u@db/x");
    assert_eq!(
        redact_url("postgres://db/x?user=u&password=hunter2"),
        "postgres://db/x?user=u&password=***"
    );
    assert_eq!(
        redact_url("postgres://p%40ss:w@rd@db/x"),
        "postgres://p%40ss:***@db/x"
    );
}

#[test]
fn the_log_filter_variable_is_not_a_setting_and_delivery_keys_nest() {
    let none = Overrides::default();
    let loaded = load_from(
        &none,
        &env(&[
            ("REPLYDESK_LOG", "replydesk=debug"),
            ("REPLYDESK_DELIVERY__TRANSPORT", "postmark"),
            ("REPLYDESK_DELIVERY__SERVER_TOKEN", "tok-123"),
            ("REPLYDESK_WORKER__POLL_SECS", "2"),
            ("REPLYDESK_IMPORT__THREAD_WINDOW_DAYS", "7"),
        ]),
    )
    .expect("REPLYDESK_LOG is the log filter, not an unknown key");
    let s = loaded.settings;
    assert_eq!(s.delivery.transport, "postmark");
    assert_eq!(s.delivery.server_token.expose(), "tok-123");
    assert_eq!(
        format!("{:?}", s.delivery),
        format!("{:?}", s.delivery).replace("tok-123", "***")
    );
    assert_eq!(s.worker.poll_secs, 2);
    assert_eq!(s.import.thread_window_days, 7);
    let wrong = load_from(&none, &env(&[("REPLYDESK_DELIVERY__TRANSPRT", "file")]));
    assert!(wrong.is_err(), "a misspelt key is still refused");
}
