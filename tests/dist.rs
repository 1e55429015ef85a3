//! The files in dist/ that a service installation uses: the example configuration must be one
//! the broker reads without an error or a note, and the systemd unit must start the broker
//! the way the README says.

use std::path::Path;

#[test]
fn the_example_configuration_reads_cleanly() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/minibroker.conf");
    let loaded = match minibroker::conf::read_file(&path, &[]) {
        Ok(loaded) => loaded,
        Err(e) => panic!("{e}"),
    };
    let notes: Vec<String> = loaded.notes.iter().map(ToString::to_string).collect();
    assert!(notes.is_empty(), "{notes:?}");
    let config = &loaded.config;
    assert_eq!(config.listeners.len(), 2, "port 1883 on IPv4 and IPv6");
    assert!(config.listeners.iter().all(|l| l.addr.port() == 1883));
    assert_eq!(config.process.user.as_deref(), Some("minibroker"));
    assert!(config.process.pid_file.is_some());
    assert!(config.logging.destinations.file.is_some());
}

#[test]
fn the_unit_reads_the_example_configuration_and_reloads_with_sighup() {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/minibroker.service"),
    )
    .unwrap();
    assert!(unit.contains("Type=notify"));
    assert!(unit.contains("ExecStart=@BINDIR@/minibroker -c /etc/minibroker/minibroker.conf"));
    assert!(unit.contains("ExecReload=/bin/kill -HUP $MAINPID"));
    assert!(unit.contains("NoNewPrivileges=true") && unit.contains("ProtectSystem=strict"));
}
