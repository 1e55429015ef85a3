//! allow_anonymous as mosquitto 2.0.12+ resolves it, and per_listener_settings (section 1.3,
//! 1.4): stored per listener even though authentication comes later.

use super::*;

fn anonymous(c: &Config) -> Vec<bool> {
    c.listeners
        .iter()
        .map(|l| l.options.allow_anonymous)
        .collect()
}

#[test]
fn local_only_mode_forces_anonymous_access_on_even_over_false() {
    let loaded = loaded("allow_anonymous false\n");
    assert!(loaded.local_only);
    assert!(loaded.config.allow_anonymous);
    assert_eq!(anonymous(&loaded.config), [true, true]);
    let notes: Vec<String> = loaded.notes.iter().map(Note::to_string).collect();
    assert_eq!(
        notes,
        [format!(
            "allow_anonymous false ({MAIN}:1) is ignored: in local-only mode anonymous clients \
             are allowed on the loopback listeners"
        )]
    );
}

#[test]
fn a_configured_listener_defaults_to_false() {
    let c = config("listener 1883\n");
    assert!(!c.allow_anonymous);
    assert_eq!(anonymous(&c), [false, false]);
    let c = config("port 1883\n");
    assert!(!c.allow_anonymous);
}

#[test]
fn the_last_global_allow_anonymous_wins_for_every_listener() {
    let c = config("listener 1883\nallow_anonymous false\nlistener 1884\nallow_anonymous true\n");
    assert!(c.allow_anonymous);
    assert_eq!(anonymous(&c), [true, true, true, true]);
    let c = config("allow_anonymous true\nlistener 1883\nallow_anonymous false\n");
    assert_eq!(anonymous(&c), [false, false]);
}

#[test]
fn per_listener_settings_gives_each_listener_its_own_value() {
    let text = "per_listener_settings true\nlistener 1883 127.0.0.1\nallow_anonymous true\nlistener 1884 127.0.0.1\npassword_file /p\n";
    let c = config(text);
    assert_eq!(anonymous(&c), [true, false]);
    assert_eq!(c.listeners[0].options.security.password_file, None);
    assert_eq!(
        c.listeners[1].options.security.password_file,
        Some(PathBuf::from("/p"))
    );
    assert!(c.per_listener_settings);
    // The same file option in two listeners is no duplicate with per_listener_settings.
    let c = config(
        "per_listener_settings true\nlistener 1883\nacl_file /a\nlistener 1884\nacl_file /b\n",
    );
    assert_eq!(c.listeners.len(), 4);
}

#[test]
fn without_per_listener_settings_security_options_are_global() {
    assert_eq!(
        message("listener 1883\npassword_file /a\nlistener 1884\npassword_file /b\n"),
        format!("{MAIN}:4: Duplicate password_file value in configuration.")
    );
    let c = config("listener 1883 127.0.0.1\npassword_file /a\nlistener 1884 127.0.0.1\n");
    let files: Vec<_> = c
        .listeners
        .iter()
        .map(|l| l.options.security.password_file.clone())
        .collect();
    assert_eq!(
        files,
        [Some(PathBuf::from("/a")), Some(PathBuf::from("/a"))]
    );
}

#[test]
fn per_listener_settings_after_a_security_option_is_fatal() {
    for option in [
        "allow_anonymous true",
        "password_file /p",
        "acl_file /a",
        "allow_zero_length_clientid true",
        "auto_id_prefix x-",
    ] {
        let e = error(&format!("{option}\nper_listener_settings true\n"));
        assert_eq!(e.kind, ErrorKind::PerListenerTooLate, "{option}");
        assert_eq!(e.line, Some(2));
    }
    assert_eq!(
        message("allow_anonymous true\nper_listener_settings true\n"),
        format!("{MAIN}:2: per_listener_settings must be set before any other security settings.")
    );
    // false is harmless, and once true it stays true.
    config("allow_anonymous true\nper_listener_settings false\n");
    let c = config("per_listener_settings true\nper_listener_settings false\nlistener 1883\n");
    assert!(c.per_listener_settings);
}

#[test]
fn refusing_anonymous_clients_is_applied_without_a_note() {
    assert!(notes("listener 1883\nallow_anonymous false\n").is_empty());
    let c = config("listener 1883\nallow_anonymous false\n");
    assert!(!c.listeners[0].options.allow_anonymous);
    assert!(super::notes("listener 1883\nallow_anonymous true\n").is_empty());
}

#[test]
fn allow_zero_length_clientid_and_auto_id_prefix_are_kept() {
    let c = config("allow_zero_length_clientid false\nauto_id_prefix gw-\nlistener 1883\n");
    assert!(!c.security.allow_zero_length_clientid);
    assert_eq!(c.security.auto_id_prefix.as_deref(), Some("gw-"));
    assert!(!c.listeners[0].options.security.allow_zero_length_clientid);
}
