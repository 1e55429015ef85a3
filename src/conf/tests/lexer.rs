//! Section 1.1 of the reference, rule by rule: comments, line ends, words, strings, integers,
//! booleans, duplicates; and the line numbers errors carry.

use super::*;

#[test]
fn comment_is_a_first_byte_hash_and_blank_lines_are_skipped() {
    let c = config("# a comment\n\n#max_inflight_messages abc\nmax_inflight_messages 7\n\n");
    assert_eq!(c.max_inflight_messages, 7);
}

#[test]
fn indented_comment_is_the_option_hash() {
    assert_eq!(
        kind("  # an indented comment\n"),
        ErrorKind::Unknown("#".into())
    );
    assert_eq!(
        message("\n  # x\n"),
        format!("{MAIN}:2: Unknown configuration variable \"#\".")
    );
}

#[test]
fn a_line_of_spaces_is_ignored() {
    assert_eq!(config("   \nmax_keepalive 30\n").max_keepalive, 30);
}

#[test]
fn tab_is_not_a_separator() {
    assert_eq!(kind("\tport 1883\n"), ErrorKind::Unknown("\tport".into()));
    assert_eq!(
        kind("port\t1883\n"),
        ErrorKind::Unknown("port\t1883".into())
    );
    // Shown escaped, so the TAB can be seen in the one-line error.
    assert_eq!(
        message("\tport 1883\n"),
        format!("{MAIN}:1: Unknown configuration variable \"\\tport\".")
    );
}

#[test]
fn crlf_and_lone_cr_lines_read_like_lf() {
    let c = config("# crlf file\r\nmax_inflight_messages 5\r\n\r\nmax_queued_messages 9\r\n");
    assert_eq!(c.max_inflight_messages, 5);
    assert_eq!(c.max_queued_messages, 9);
    let c = config("pid_file /run/m.pid\r\r\n");
    assert_eq!(c.process.pid_file, Some(PathBuf::from("/run/m.pid")));
}

#[test]
fn the_last_line_needs_no_newline() {
    assert_eq!(config("max_keepalive 42").max_keepalive, 42);
}

#[test]
fn words_are_split_on_runs_of_spaces_and_names_may_be_indented() {
    assert_eq!(config("   max_keepalive     30   \n").max_keepalive, 30);
}

#[test]
fn names_and_booleans_are_case_sensitive() {
    assert_eq!(kind("Port 1883\n"), ErrorKind::Unknown("Port".into()));
    for word in ["True", "FALSE", "yes", "on", "2", "tru"] {
        let e = kind(&format!("queue_qos0_messages {word}\n"));
        assert!(matches!(e, ErrorKind::Invalid { .. }), "{word}: {e:?}");
    }
}

#[test]
fn booleans_are_true_false_1_0() {
    assert!(config("queue_qos0_messages true\n").queue_qos0_offline);
    assert!(config("queue_qos0_messages 1\n").queue_qos0_offline);
    assert!(!config("queue_qos0_messages true\nqueue_qos0_messages 0\n").queue_qos0_offline);
    assert!(!config("queue_qos0_messages false\n").queue_qos0_offline);
}

#[test]
fn string_is_the_rest_of_the_line_trimmed_with_inner_spaces_and_inline_hash() {
    let c = config("pid_file    /run/my broker.pid   \t\n");
    assert_eq!(
        c.process.pid_file,
        Some(PathBuf::from("/run/my broker.pid"))
    );
    // mosquitto keeps an inline comment in a string value; so does this reader.
    let c = config("persistence_location /var/lib/mosquitto/ # the database\n");
    assert_eq!(
        c.persistence.location,
        Some(PathBuf::from("/var/lib/mosquitto/ # the database"))
    );
}

#[test]
fn empty_values_are_errors_naming_the_option() {
    for text in [
        "pid_file\n",
        "pid_file   \n",
        "pid_file \t \n",
        "max_keepalive\n",
    ] {
        let option = text.split(' ').next().unwrap_or(text).trim();
        assert_eq!(kind(text), ErrorKind::Empty(option.into()), "{text:?}");
    }
    assert_eq!(
        message("log_timestamp\n"),
        format!("{MAIN}:1: Empty log_timestamp value in configuration.")
    );
}

#[test]
fn integers_are_decimal_with_optional_sign_and_blanks() {
    assert_eq!(config("max_keepalive +30\n").max_keepalive, 30);
    assert_eq!(config("max_keepalive 0030\n").max_keepalive, 30);
    assert_eq!(config("max_queued_bytes -5\n").max_queued_bytes, 0);
    // A trailing TAB is a blank inside the word, as atoi skips it.
    assert_eq!(config("max_keepalive 30\t\n").max_keepalive, 30);
}

#[test]
fn integer_garbage_is_refused_where_mosquitto_reads_zero_or_a_prefix() {
    for word in [
        "abc",
        "12abc",
        "0x10",
        "1.5",
        "+",
        "-",
        "1e3",
        "99999999999999999999",
    ] {
        assert_eq!(
            kind(&format!("max_queued_messages {word}\n")),
            ErrorKind::Invalid {
                option: "max_queued_messages".into(),
                value: word.into(),
                reason: None,
            },
            "{word}"
        );
    }
    assert_eq!(
        message("\n\nmax_inflight_messages abc\n"),
        format!("{MAIN}:3: Invalid max_inflight_messages value (abc).")
    );
}

#[test]
fn only_a_comment_may_follow_a_one_word_value() {
    assert_eq!(config("max_keepalive 30 # seconds\n").max_keepalive, 30);
    assert!(config("queue_qos0_messages true #yes\n").queue_qos0_offline);
    assert_eq!(
        kind("max_keepalive 30 40\n"),
        ErrorKind::Invalid {
            option: "max_keepalive".into(),
            value: "30 40".into(),
            reason: None,
        }
    );
}

#[test]
fn integers_and_booleans_repeat_and_the_last_wins() {
    let c = config(
        "max_inflight_messages 5\nmax_inflight_messages 6\nretain_available false\nretain_available true\n",
    );
    assert_eq!(c.max_inflight_messages, 6);
    assert!(c.retain_available);
}

#[test]
fn a_string_repeated_in_one_scope_is_fatal() {
    let e = error("pid_file /a\n# two\npid_file /b\n");
    assert_eq!(e.kind, ErrorKind::Duplicate("pid_file".into()));
    assert_eq!(e.line, Some(3));
    assert_eq!(
        e.to_string(),
        format!("{MAIN}:3: Duplicate pid_file value in configuration.")
    );
    // Even when the second one is empty: mosquitto checks for the duplicate first.
    assert_eq!(
        kind("pid_file /a\npid_file  \n"),
        ErrorKind::Duplicate("pid_file".into())
    );
}

#[test]
fn user_is_a_string_where_the_last_one_wins() {
    let c = config("user nobody\nuser mosquitto\n");
    assert_eq!(c.process.user.as_deref(), Some("mosquitto"));
}

#[test]
fn a_string_may_repeat_in_different_listeners() {
    let c = config("listener 1883\nbind_interface lo\nlistener 1884\nbind_interface lo\n");
    assert_eq!(c.listeners.len(), 4);
}

#[test]
fn malformed_utf8_is_refused_but_not_in_comments() {
    let bad = b"max_keepalive 30\npid_file /run/\xff.pid\n";
    let e = Fake::default()
        .file(MAIN, bad)
        .load()
        .expect_err("bad utf-8");
    assert_eq!(e.kind, ErrorKind::MalformedUtf8);
    assert_eq!(e.line, Some(2));
    let comment = b"# caf\xe9 latin-1\nmax_keepalive 30\n";
    let loaded = Fake::default().file(MAIN, comment).load().expect("comment");
    assert_eq!(loaded.config.max_keepalive, 30);
}

#[test]
fn a_nul_ends_the_line_as_it_ends_a_c_string() {
    let text = b"max_keepalive 30\0 garbage\n";
    let loaded = Fake::default().file(MAIN, text).load().expect("nul");
    assert_eq!(loaded.config.max_keepalive, 30);
}

#[test]
fn an_empty_file_is_local_only_mode() {
    let loaded = loaded("");
    assert!(loaded.local_only);
    assert_eq!(
        plain(&loaded.config),
        vec![addr("127.0.0.1:1883"), addr("[::1]:1883")]
    );
}

#[test]
fn a_missing_file_names_the_file_without_a_line() {
    let e = Fake::default().load().expect_err("missing");
    assert_eq!(e.line, None);
    assert_eq!(
        e.to_string(),
        format!("{MAIN}: Unable to open config file (No such file or directory).")
    );
}

#[test]
fn unknown_options_and_options_of_mosquitto_2_1() {
    assert_eq!(
        message("frobnicate 1\n"),
        format!("{MAIN}:1: Unknown configuration variable \"frobnicate\".")
    );
    assert_eq!(
        kind("global_max_clients 10\n"),
        ErrorKind::OnlyInMosquitto21("global_max_clients".into())
    );
}
