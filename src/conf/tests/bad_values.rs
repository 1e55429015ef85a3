//! Every kind of bad value, option by option (table-driven): each is refused with a one-line
//! error naming the file, the line and the rule; and the options minibroker can never honour.

use super::*;

/// (line, the whole error message after `FILE:LINE: `).
const BAD_VALUES: &[(&str, &str)] = &[
    (
        "max_inflight_messages 70000",
        "Invalid max_inflight_messages value (70000): must be at most 65535.",
    ),
    (
        "max_keepalive 65536",
        "Invalid max_keepalive value (65536): must be from 0 to 65535.",
    ),
    (
        "max_keepalive -1",
        "Invalid max_keepalive value (-1): must be from 0 to 65535.",
    ),
    (
        "max_packet_size 19",
        "Invalid max_packet_size value (19): must be at least 20.",
    ),
    (
        "max_packet_size 0",
        "Invalid max_packet_size value (0): must be at least 20.",
    ),
    ("max_queued_bytes x", "Invalid max_queued_bytes value (x)."),
    ("memory_limit -1", "Invalid memory_limit value (-1)."),
    (
        "message_size_limit 268435456",
        "Invalid message_size_limit value (268435456): must be from 0 to 268435455.",
    ),
    (
        "sys_interval 65536",
        "Invalid sys_interval value (65536): must be from 0 to 65535.",
    ),
    (
        "autosave_interval soon",
        "Invalid autosave_interval value (soon).",
    ),
    (
        "autosave_on_changes maybe",
        "Invalid autosave_on_changes value (maybe).",
    ),
    ("persistence yes", "Invalid persistence value (yes)."),
    (
        "persistence_sync always",
        "Invalid persistence_sync value (always): expected batch or periodic.",
    ),
    (
        "persistence_sync",
        "Empty persistence_sync value in configuration.",
    ),
    (
        "persistence_sync batch periodic",
        "Invalid persistence_sync value (batch periodic).",
    ),
    (
        "persistence_sync_period 0",
        "Invalid persistence_sync_period value (0): must be from 1 to 3600 seconds.",
    ),
    (
        "persistence_sync_period 3601",
        "Invalid persistence_sync_period value (3601): must be from 1 to 3600 seconds.",
    ),
    (
        "persistence_sync_period 1s",
        "Invalid persistence_sync_period value (1s).",
    ),
    ("retain_available 2", "Invalid retain_available value (2)."),
    (
        "persistent_client_expiration 5",
        "Invalid persistent_client_expiration value (5): expected a positive number followed by h, d, w, m or y.",
    ),
    (
        "persistent_client_expiration 0d",
        "Invalid persistent_client_expiration value (0d): expected a positive number followed by h, d, w, m or y.",
    ),
    (
        "persistent_client_expiration xd",
        "Invalid persistent_client_expiration value (xd): expected a positive number followed by h, d, w, m or y.",
    ),
    (
        "log_dest carrier-pigeon",
        "Invalid log_dest value (carrier-pigeon): expected none, stderr, stdout, syslog, topic, dlt or file.",
    ),
    ("log_dest", "Empty log_dest value in configuration."),
    (
        "log_dest file",
        "Empty \"log_dest file\" value in configuration.",
    ),
    (
        "log_type chatty",
        "Invalid log_type value (chatty): expected debug, error, warning, notice, information, subscribe, unsubscribe, websockets, none or all.",
    ),
    (
        "log_facility 8",
        "Invalid log_facility value (8): must be from 0 to 7.",
    ),
    ("log_timestamp yes", "Invalid log_timestamp value (yes)."),
    (
        "connection_messages on",
        "Invalid connection_messages value (on).",
    ),
    (
        "websockets_headers_size 70000",
        "Invalid websockets_headers_size value (70000): must be from 0 to 65535.",
    ),
    ("listener", "Empty listener value in configuration."),
    (
        "listener http",
        "Invalid port value (http): must be from 0 to 65535.",
    ),
    (
        "listener 65536",
        "Invalid port value (65536): must be from 0 to 65535.",
    ),
    (
        "listener 0",
        "A listener with port 0 must provide a Unix socket path.",
    ),
    (
        "listener 1883 127.0.0.1 extra",
        "Invalid listener value (127.0.0.1 extra).",
    ),
    ("port 0", "Invalid port value (0): must be from 1 to 65535."),
    ("port 1883x", "Invalid port value (1883x)."),
    ("bind_address", "Empty bind_address value in configuration."),
    ("max_qos 3", "Invalid max_qos value (3): must be 0, 1 or 2."),
    (
        "max_topic_alias 65536",
        "Invalid max_topic_alias value (65536): must be from 0 to 65535.",
    ),
    (
        "mount_point a/",
        "You must create a listener before using the mount_point option.",
    ),
    (
        "listener 1883\nmount_point a/+/",
        "Invalid mount_point value (a/+/): it must be a topic without wildcards.",
    ),
    (
        "protocol mqtts",
        "Invalid protocol value (mqtts): expected mqtt or websockets.",
    ),
    (
        "socket_domain ipv5",
        "Invalid socket_domain value (ipv5): expected ipv4 or ipv6.",
    ),
    (
        "socket_domain",
        "Empty socket_domain value in configuration.",
    ),
    (
        "use_username_as_clientid 2",
        "Invalid use_username_as_clientid value (2).",
    ),
    (
        "tls_version tlsv1.0",
        "Invalid tls_version value (tlsv1.0): expected tlsv1.3, tlsv1.2 or tlsv1.1.",
    ),
    (
        "tls_keyform der",
        "Invalid tls_keyform value (der): expected pem or engine.",
    ),
    (
        "require_certificate maybe",
        "Invalid require_certificate value (maybe).",
    ),
    (
        "allow_anonymous yes",
        "Invalid allow_anonymous value (yes).",
    ),
    (
        "allow_zero_length_clientid",
        "Empty allow_zero_length_clientid value in configuration.",
    ),
    (
        "per_listener_settings 2",
        "Invalid per_listener_settings value (2).",
    ),
    (
        "password_file",
        "Empty password_file value in configuration.",
    ),
    (
        "acl_file /a\nacl_file /b",
        "Duplicate acl_file value in configuration.",
    ),
    (
        "auto_id_prefix a\nauto_id_prefix b",
        "Duplicate auto_id_prefix value in configuration.",
    ),
    (
        "persistence_file a.db\npersistence_file b.db",
        "Duplicate persistence_file value in configuration.",
    ),
    (
        "log_timestamp_format %s\nlog_timestamp_format %s",
        "Duplicate log_timestamp_format value in configuration.",
    ),
    (
        "log_dest file /a\nlog_dest file /b",
        "Duplicate \"log_dest file\" value in configuration.",
    ),
    (
        "bind_address 127.0.0.1\nbind_address ::1",
        "Duplicate bind_address value in configuration.",
    ),
    ("include_dir", "Empty include_dir value in configuration."),
];

#[test]
fn bad_values_are_refused_with_file_line_and_rule() {
    for (text, expected) in BAD_VALUES {
        let line = text.lines().count();
        let got = message(&format!("# leading comment\n{text}\n"));
        assert_eq!(got, format!("{MAIN}:{}: {expected}", line + 1), "{text:?}");
    }
}

/// Options minibroker can never honour: refused with the reason, never accepted silently.
const REFUSED: &[(&str, &str)] = &[
    (
        "require_certificate true",
        "require_certificate true is not supported: native-tls cannot ask clients for certificates.",
    ),
    (
        "use_identity_as_username true",
        "use_identity_as_username true is not supported: native-tls cannot ask clients for certificates.",
    ),
    (
        "use_subject_as_username 1",
        "use_subject_as_username true is not supported: native-tls cannot ask clients for certificates.",
    ),
    (
        "ciphers HIGH",
        "ciphers is not supported: native-tls cannot restrict the cipher list.",
    ),
    (
        "ciphers_tls1.3 TLS_AES_256_GCM_SHA384",
        "ciphers_tls1.3 is not supported: native-tls cannot restrict the cipher list.",
    ),
    (
        "dhparamfile /etc/dh.pem",
        "dhparamfile is not supported: native-tls cannot load Diffie-Hellman parameters.",
    ),
    (
        "psk_hint hint",
        "psk_hint is not supported: native-tls has no TLS-PSK.",
    ),
    (
        "psk_file /etc/psk",
        "psk_file is not supported: native-tls has no TLS-PSK.",
    ),
    (
        "tls_engine pkcs11",
        "tls_engine is not supported: native-tls cannot use OpenSSL engines.",
    ),
    (
        "tls_keyform engine",
        "tls_keyform engine is not supported: native-tls cannot use OpenSSL engines.",
    ),
    (
        "tls_version tlsv1.3",
        "tls_version tlsv1.3 is not supported: native-tls cannot refuse TLS 1.2.",
    ),
    (
        "auth_plugin /usr/lib/auth.so",
        "auth_plugin is not supported: minibroker cannot load mosquitto plugins.",
    ),
    (
        "plugin /usr/lib/dynsec.so",
        "plugin is not supported: minibroker cannot load mosquitto plugins.",
    ),
    (
        "auth_opt_backend files",
        "The auth_opt_backend option exists in the config file without a plugin.",
    ),
    (
        "plugin_opt_config_file /x",
        "The plugin_opt_config_file option exists in the config file without a plugin.",
    ),
];

#[test]
#[cfg(feature = "tls")]
fn a_tls_file_repeated_in_one_listener_is_fatal() {
    assert_eq!(
        message("listener 1883\ncertfile /a\ncertfile /b\n"),
        format!("{MAIN}:3: Duplicate certfile value in configuration.")
    );
}

#[test]
#[cfg(not(feature = "tls"))]
fn tls_options_are_refused_without_tls_support() {
    assert_eq!(
        message("listener 8883\ncertfile /a\n"),
        format!(
            "{MAIN}:2: certfile is not supported: this minibroker was built without TLS \
             support (the `tls` feature)."
        )
    );
}

#[test]
fn options_that_cannot_be_honoured_are_errors_with_the_reason() {
    for (text, expected) in REFUSED {
        assert_eq!(message(text), format!("{MAIN}:1: {expected}"), "{text:?}");
    }
}
