//! `include_dir` (section 1.2): which files, in which order, the main file only, fresh section
//! state per file, errors in included files; and Debian's stock configuration.

use std::cmp::Ordering;

use super::*;
use crate::conf::reader::include_order;

const DEBIAN: &str = "\
# Place your local configuration in /etc/mosquitto/conf.d/
#
# A full description of the configuration file is at
# /usr/share/doc/mosquitto/examples/mosquitto.conf.example

pid_file /run/mosquitto/mosquitto.pid

persistence true
persistence_location /var/lib/mosquitto/

log_dest file /var/log/mosquitto/mosquitto.log

include_dir /etc/mosquitto/conf.d
";

fn files(loaded: &Loaded) -> Vec<String> {
    loaded
        .files
        .iter()
        .map(|f| f.display().to_string())
        .collect()
}

#[test]
fn debian_stock_file_with_a_listener_in_conf_d() {
    let fake = Fake::main(DEBIAN)
        .dir("/etc/mosquitto/conf.d", &["README", "local.conf"])
        .file(
            "/etc/mosquitto/conf.d/local.conf",
            "listener 1883\nallow_anonymous true\n",
        );
    let loaded = fake.load().expect("debian");
    let c = &loaded.config;
    assert!(!loaded.local_only);
    assert_eq!(plain(c), vec![addr("0.0.0.0:1883"), addr("[::]:1883")]);
    assert!(c.allow_anonymous);
    assert!(c.listeners.iter().all(|l| l.options.allow_anonymous));
    assert_eq!(
        c.process.pid_file,
        Some(PathBuf::from("/run/mosquitto/mosquitto.pid"))
    );
    assert!(c.persistence.enabled);
    assert_eq!(
        c.persistence.path(),
        PathBuf::from("/var/lib/mosquitto/minibroker.db")
    );
    assert_eq!(
        c.logging.destinations.file,
        Some(PathBuf::from("/var/log/mosquitto/mosquitto.log"))
    );
    assert!(!c.logging.destinations.stderr);
    assert_eq!(files(&loaded), [MAIN, "/etc/mosquitto/conf.d/local.conf"]);
    let notes: Vec<String> = loaded.notes.iter().map(Note::to_string).collect();
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn debian_stock_file_alone_is_local_only_with_anonymous_access() {
    let loaded = Fake::main(DEBIAN)
        .dir("/etc/mosquitto/conf.d", &["README"])
        .load()
        .expect("debian");
    assert!(loaded.local_only);
    assert_eq!(
        plain(&loaded.config),
        vec![addr("127.0.0.1:1883"), addr("[::1]:1883")]
    );
    assert!(loaded.config.allow_anonymous);
}

#[test]
fn order_is_case_insensitive_with_uppercase_first_on_ties() {
    let mut names = vec!["b", "B", "a", "01", "A", "00", "ab", "Ab", "aB"];
    names.sort_by(|x, y| include_order(x.as_bytes(), y.as_bytes()));
    assert_eq!(names, ["00", "01", "A", "Ab", "a", "aB", "ab", "B", "b"]);
    assert_eq!(include_order(b"a", b"a.conf"), Ordering::Less);
}

#[test]
fn only_conf_files_longer_than_five_bytes_are_read_in_order() {
    let names = [
        "b.conf",
        ".conf",
        "A.conf",
        "x.CONF",
        "a.conf",
        "notes.txt",
        "0.conf",
    ];
    let mut fake = Fake::main("include_dir /d\n").dir("/d", &names);
    for name in names {
        fake = fake.file(&format!("/d/{name}"), "# nothing\n");
    }
    let loaded = fake.load().expect("include");
    assert_eq!(
        files(&loaded),
        [MAIN, "/d/0.conf", "/d/A.conf", "/d/a.conf", "/d/b.conf"]
    );
}

#[test]
fn include_dir_repeats_and_each_is_read_at_its_line() {
    let fake = Fake::main("include_dir /one\nmax_keepalive 10\ninclude_dir /two\n")
        .dir("/one", &["x.conf"])
        .file("/one/x.conf", "max_keepalive 20\nmax_inflight_messages 3\n")
        .dir("/two", &["y.conf"])
        .file("/two/y.conf", "max_inflight_messages 4\n");
    let c = fake.load().expect("two dirs").config;
    // The main file's line 2 comes after /one and before /two.
    assert_eq!(c.max_keepalive, 10);
    assert_eq!(c.max_inflight_messages, 4);
}

#[test]
fn include_dir_in_an_included_file_is_ignored() {
    let fake = Fake::main("include_dir /d\n")
        .dir("/d", &["x.conf"])
        .file("/d/x.conf", "include_dir /nowhere\nmax_keepalive 20\n");
    assert_eq!(fake.load().expect("nested").config.max_keepalive, 20);
}

#[test]
fn include_dir_path_is_trimmed() {
    let fake = Fake::main("include_dir   /d  \n")
        .dir("/d", &["x.conf"])
        .file("/d/x.conf", "max_keepalive 20\n");
    assert_eq!(fake.load().expect("trimmed").config.max_keepalive, 20);
}

#[test]
fn a_missing_include_dir_is_an_error_at_its_line() {
    let e = Fake::main("\ninclude_dir /etc/mosquitto/conf.d\n")
        .load()
        .expect_err("missing dir");
    assert_eq!(
        e.to_string(),
        format!(
            "{MAIN}:2: Unable to open include_dir '/etc/mosquitto/conf.d' (No such file or \
             directory)."
        )
    );
}

#[test]
fn a_directory_named_x_conf_is_an_error() {
    let e = Fake::main("include_dir /d\n")
        .dir("/d", &["x.conf"])
        .dir("/d/x.conf", &[])
        .load()
        .expect_err("directory");
    assert_eq!(e.file, PathBuf::from("/d/x.conf"));
    assert_eq!(
        e.to_string(),
        format!("/d/x.conf: Unable to open config file (Is a directory). (included from {MAIN}:1)")
    );
}

#[test]
fn an_error_in_an_included_file_names_that_file_and_the_include_line() {
    let e = Fake::main("# main\ninclude_dir /d\n")
        .dir("/d", &["x.conf"])
        .file("/d/x.conf", "\n\nmax_qos 7\n")
        .load()
        .expect_err("bad include");
    assert_eq!(
        e.to_string(),
        format!(
            "/d/x.conf:3: Invalid max_qos value (7): must be 0, 1 or 2. (included from {MAIN}:2)"
        )
    );
}

#[test]
fn each_included_file_starts_outside_any_section() {
    // The listener of a.conf does not reach into b.conf: b.conf's first options go to the
    // default listener, which they create (max_connections), beside a.conf's listener.
    let fake = Fake::main("include_dir /d\n")
        .dir("/d", &["a.conf", "b.conf"])
        .file("/d/a.conf", "listener 1884 127.0.0.1\n")
        .file("/d/b.conf", "max_connections 5\nlistener 1885 127.0.0.1\n");
    let c = fake.load().expect("sections").config;
    assert_eq!(
        plain(&c),
        vec![
            addr("127.0.0.1:1884"),
            addr("127.0.0.1:1885"),
            addr("0.0.0.0:1883"),
            addr("[::]:1883"),
        ]
    );
    let limits: Vec<Option<u32>> = c
        .listeners
        .iter()
        .map(|l| l.options.max_connections)
        .collect();
    assert_eq!(limits, [None, None, Some(5), Some(5)]);
}

#[test]
fn a_bridge_option_in_the_next_file_has_no_connection() {
    let fake = Fake::main("include_dir /d\nlistener 1883\n")
        .dir("/d", &["a.conf", "b.conf"])
        .file(
            "/d/a.conf",
            "connection up\naddress up.example\ntopic # out\n",
        )
        .file("/d/b.conf", "try_private false\n");
    let e = fake.load().expect_err("bridge option alone");
    assert_eq!(
        e.to_string(),
        format!(
            "/d/b.conf:1: Invalid bridge configuration: try_private outside a connection \
             section. (included from {MAIN}:1)"
        )
    );
}
