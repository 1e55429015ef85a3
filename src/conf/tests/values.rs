//! Every option: a good value is accepted and lands in `Config`, every kind of bad value is
//! refused with a one-line error naming the file, the line and the rule (table-driven).

use std::time::Duration;

use super::*;
use crate::config::{LogTypes, MAX_REMAINING_LENGTH};

/// Every option of the reference's option table and of mosquitto 2.0, with a valid value.
const EVERY_OPTION: &str = "\
per_listener_settings false
allow_anonymous true
password_file /etc/mosquitto/passwd
acl_file /etc/mosquitto/acl
allow_zero_length_clientid true
auto_id_prefix auto-
clientid_prefixes sensor-
persistence true
persistence_location /var/lib/mosquitto/
persistence_file mosquitto.db
autosave_interval 600
autosave_on_changes false
retain_available true
max_inflight_messages 30
max_inflight_bytes 1000
max_queued_messages 200
max_queued_bytes 100000
queue_qos0_messages true
message_size_limit 4096
max_packet_size 65536
max_keepalive 120
persistent_client_expiration 2w
upgrade_outgoing_qos false
set_tcp_nodelay true
sys_interval 10
log_dest stderr
log_type error
log_type warning
log_timestamp true
log_timestamp_format %Y-%m-%dT%H:%M:%S
log_facility 3
connection_messages true
pid_file /run/mosquitto/mosquitto.pid
user mosquitto
allow_duplicate_messages false
check_retain_source false
memory_limit 0
retry_interval 20
websockets_log_level 0
websockets_headers_size 4096
listener 1883
bind_interface lo
socket_domain ipv4
max_connections -1
max_qos 2
max_topic_alias 10
mount_point site/
protocol mqtt
use_username_as_clientid false
listener 8080
protocol websockets
http_dir /var/www
connection upstream
address broker.example:1884
topic sensors/# out 1
";

/// The TLS options of a listener, with valid values.
const TLS_LISTENER: &str = "\
listener 8883 127.0.0.1
cafile /etc/ssl/ca.pem
capath /etc/ssl/certs
certfile /etc/ssl/server.pem
keyfile /etc/ssl/server.key
crlfile /etc/ssl/crl.pem
tls_version tlsv1.2
require_certificate false
use_identity_as_username false
use_subject_as_username false
tls_keyform pem
";

#[test]
fn every_option_is_accepted() {
    let tls = if cfg!(feature = "tls") {
        TLS_LISTENER
    } else {
        ""
    };
    let c = config(&format!("{EVERY_OPTION}{tls}"));
    assert_eq!(c.max_inflight_messages, 30);
    assert_eq!(c.max_queued_messages, 200);
    assert_eq!(c.max_queued_bytes, 100_000);
    assert!(c.queue_qos0_offline);
    assert_eq!(c.max_packet_size, 65_536);
    assert_eq!(c.max_keepalive, 120);
    assert_eq!(c.topic_alias_maximum, 10);
    assert_eq!(c.message_size_limit, 4096);
    assert_eq!(c.max_inflight_bytes, 1000);
    assert_eq!(
        c.persistent_client_expiration,
        Some(Duration::from_secs(14 * 86_400))
    );
    assert!(c.persistence.enabled);
    assert_eq!(c.persistence.autosave_interval, 600);
    assert_eq!(
        c.persistence.path(),
        PathBuf::from("/var/lib/mosquitto/mosquitto.db")
    );
    assert_eq!(
        c.security.password_file,
        Some(PathBuf::from("/etc/mosquitto/passwd"))
    );
    assert_eq!(c.clientid_prefixes.as_deref(), Some("sensor-"));
    assert_eq!(c.logging.facility, Some(3));
    let types = c.logging.types.expect("log_type given");
    assert!(types.error && types.warning && !types.information && !types.debug);
    assert_eq!(c.bridges.len(), 1);
    assert_eq!(
        websockets(&c),
        vec![addr("0.0.0.0:8080"), addr("[::]:8080")]
    );
    let ws = c.listeners.iter().find(|l| l.addr.port() == 8080).unwrap();
    assert_eq!(ws.options.http_dir, Some(PathBuf::from("/var/www")));
    assert_eq!(c.websockets.headers_size, 4096);
    assert_eq!(plain(&c), vec![addr("0.0.0.0:1883")]);
    if cfg!(feature = "tls") {
        assert_eq!(sockets(&c, ListenerKind::Tls), vec![addr("127.0.0.1:8883")]);
    }
}

#[test]
fn mosquitto_conventions_become_minibroker_limits() {
    // 0, negative and 65535 all mean "no limit" to mosquitto.
    for n in ["0", "-1", "65535"] {
        let c = config(&format!("max_inflight_messages {n}\n"));
        assert_eq!(c.max_inflight_messages, u16::MAX, "{n}");
    }
    assert_eq!(
        config("max_queued_messages 0\n").max_queued_messages,
        usize::MAX
    );
    assert_eq!(
        config("max_queued_messages -3\n").max_queued_messages,
        usize::MAX
    );
    assert_eq!(config("max_keepalive 0\n").max_keepalive, 0);
    // A limit above the largest packet MQTT can frame is that largest packet.
    assert_eq!(
        config("max_packet_size 999999999999\n").max_packet_size,
        MAX_REMAINING_LENGTH + 5
    );
    assert_eq!(config("max_packet_size 20\n").max_packet_size, 20);
    assert_eq!(
        config("autosave_interval -5\n")
            .persistence
            .autosave_interval,
        0
    );
}

/// minibroker's own persistence options: the sync policy and its period, the defaults when
/// absent (periodic, every second), and `autosave_on_changes` with its count.
#[test]
fn persistence_sync_and_its_period_are_read() {
    use crate::config::SyncPolicy;
    let c = config("persistence true\npersistence_sync batch\n");
    assert_eq!(c.persistence.sync, SyncPolicy::Batch);
    let c = config("persistence_sync periodic\npersistence_sync_period 5\n");
    assert_eq!(c.persistence.sync, SyncPolicy::Periodic);
    assert_eq!(c.persistence.sync_period, Duration::from_secs(5));
    let c = config("persistence_sync_period 3600\n");
    assert_eq!(c.persistence.sync_period, Duration::from_secs(3600));
    let c = config("");
    assert_eq!(c.persistence.sync, SyncPolicy::Periodic);
    assert_eq!(c.persistence.sync_period, Duration::from_secs(1));
    let c = config("autosave_on_changes true\nautosave_interval 100\n");
    assert!(c.persistence.autosave_on_changes);
    assert_eq!(c.persistence.autosave_interval, 100);
    // The options the broker applies earn no "not supported yet" note.
    let text = "persistence true\npersistence_sync batch\npersistence_sync_period 2\n\
                autosave_on_changes true\n";
    assert_eq!(notes(text), Vec::<String>::new());
}

#[test]
fn log_type_and_log_dest_accumulate_none_clears_all_sets_everything() {
    let c = config("log_type error\nlog_type debug\n");
    let types = c.logging.types.expect("types");
    assert!(types.error && types.debug && !types.warning);
    let c = config("log_type error\nlog_type none\nlog_type warning\n");
    let types = c.logging.types.expect("types");
    assert!(!types.error && types.warning);
    assert_eq!(
        config("log_type all\n").logging.types,
        Some(LogTypes::all())
    );
    let c = config("log_dest syslog\nlog_dest stdout\n");
    let dest = &c.logging.destinations;
    assert!(dest.syslog && dest.stdout && !dest.stderr, "{dest:?}");
    let c = config("log_dest syslog\nlog_dest none\nlog_dest file /var/log/m.log\n");
    let dest = &c.logging.destinations;
    assert!(!dest.syslog && !dest.stderr);
    assert_eq!(dest.file, Some(PathBuf::from("/var/log/m.log")));
    assert!(config("").logging.destinations.stderr);
}

#[test]
fn options_without_effect_are_noted_with_file_and_line() {
    let notes = notes("listener 1883\nallow_anonymous true\nretry_interval 20\n");
    assert_eq!(
        notes,
        [format!(
            "retry_interval ({MAIN}:3) is ignored: mosquitto 2.0 no longer has it"
        )]
    );
    let applied = "persistence false\nretain_available true\nsys_interval 0\nsys_interval 10\n\
                   memory_limit 1000000\ncheck_retain_source true\n";
    assert!(super::notes(applied).is_empty());
    assert!(config("check_retain_source true\n").check_retain_source);
    assert!(!config("check_retain_source false\n").check_retain_source);
    assert!(!config("").check_retain_source);
}

#[test]
fn the_options_the_broker_applies_earn_no_note() {
    let text = "retain_available false\nmessage_size_limit 100\nmax_inflight_bytes 1000\n\
                upgrade_outgoing_qos true\npersistent_client_expiration 1d\n\
                max_queued_messages 5\nmax_queued_bytes 500\nqueue_qos0_messages true\n\
                max_inflight_messages 5\nmax_keepalive 60\nmax_packet_size 1000\n\
                listener 1883\nmax_connections 10\nmax_qos 1\nmount_point site/\n\
                max_topic_alias 3\nlistener 0 /run/mqtt.sock\nallow_anonymous true\n";
    assert_eq!(notes(text), Vec::<String>::new());
    // allow_duplicate_messages is applied, and deprecated in mosquitto.
    assert_eq!(
        notes("allow_duplicate_messages true\n"),
        [format!("allow_duplicate_messages ({MAIN}:1) is deprecated")]
    );
}

#[test]
fn empty_values_mosquitto_only_warns_about_are_noted() {
    let notes = notes("max_connections\nlog_type\nprotocol\npersistent_client_expiration\n");
    assert_eq!(notes.len(), 4, "{notes:?}");
    assert_eq!(
        notes[0],
        format!("empty max_connections value ({MAIN}:1) is ignored")
    );
}

#[test]
fn max_connections_total_is_a_limit_over_every_listener_and_0_is_none() {
    assert_eq!(
        config("max_connections_total 5\n").max_connections_total,
        Some(5)
    );
    assert_eq!(
        config("max_connections_total 0\n").max_connections_total,
        None
    );
    assert_eq!(
        config("max_connections_total -1\n").max_connections_total,
        None
    );
    assert_eq!(config("").max_connections_total, None);
    assert!(notes("max_connections_total 5\n").is_empty());
}

#[test]
fn slow_consumer_timeout_is_seconds_and_0_is_off() {
    let seconds = |text: &str| config(text).slow_consumer_timeout.map(|d| d.as_secs());
    assert_eq!(seconds("slow_consumer_timeout 30\n"), Some(30));
    assert_eq!(seconds("slow_consumer_timeout 0\n"), None);
    assert_eq!(seconds(""), None);
    assert!(notes("slow_consumer_timeout 30\n").is_empty());
}

#[test]
fn publish_rate_limits_take_a_rate_and_a_burst() {
    use crate::router::RateLimit;
    let c = config("publish_rate_limit 100 250\npublish_byte_rate_limit 65536\n");
    assert_eq!(c.publish_rate, RateLimit::new(100, Some(250)));
    assert_eq!(c.publish_byte_rate, RateLimit::new(65536, None));
    assert_eq!(c.publish_byte_rate.map(|l| l.burst), Some(65536));
    assert_eq!(config("publish_rate_limit 0\n").publish_rate, None);
    assert_eq!(config("").publish_rate, None);
    assert!(notes("publish_rate_limit 10\n").is_empty());
    for bad in [
        "publish_rate_limit -1\n",
        "publish_rate_limit ten\n",
        "publish_rate_limit 10 -5\n",
        "publish_rate_limit 10 20 30\n",
    ] {
        assert!(
            matches!(kind(bad), ErrorKind::Invalid { .. }),
            "{bad:?}: {:?}",
            kind(bad)
        );
    }
    assert_eq!(
        kind("publish_rate_limit\n"),
        ErrorKind::Empty("publish_rate_limit".into())
    );
}

#[test]
fn memory_limit_is_bytes_and_applied() {
    assert_eq!(config("memory_limit 67108864\n").memory_limit, 64 << 20);
    assert_eq!(config("memory_limit 0\n").memory_limit, 0);
    assert!(notes("memory_limit 67108864\n").is_empty());
    assert!(matches!(
        kind("memory_limit -1\n"),
        ErrorKind::Invalid { .. }
    ));
}
