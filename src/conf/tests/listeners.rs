//! Listener sections (section 1.3 and 1.4): `listener PORT [ADDR]`, the default listener and
//! when it exists, local-only mode and `-p`, socket_domain, host names, TLS, and the listeners
//! kept aside (WebSockets), Unix sockets.

use super::*;
#[cfg(feature = "tls")]
use crate::config::TlsIdentity;
use crate::config::{ListenerProtocol, SocketDomain};

#[test]
fn listener_without_address_opens_ipv4_and_ipv6() {
    let c = config("listener 1884\n");
    assert_eq!(plain(&c), vec![addr("0.0.0.0:1884"), addr("[::]:1884")]);
    let origin = c.listeners[0].options.origin.clone().expect("origin");
    assert_eq!((origin.file, origin.line), (PathBuf::from(MAIN), 1));
    // Both sockets belong to the same listener.
    assert_eq!(c.listeners[0].options, c.listeners[1].options);
}

#[test]
fn two_listeners_each_with_an_address() {
    let c = config("listener 1883 127.0.0.1\nlistener 1884 ::1\n");
    assert_eq!(plain(&c), vec![addr("127.0.0.1:1883"), addr("[::1]:1884")]);
}

#[test]
fn a_second_word_starting_with_hash_is_a_comment() {
    let c = config("listener 1884 #all addresses\n");
    assert_eq!(plain(&c), vec![addr("0.0.0.0:1884"), addr("[::]:1884")]);
    let c = config("listener 1884 127.0.0.1 # loopback only\n");
    assert_eq!(plain(&c), vec![addr("127.0.0.1:1884")]);
}

#[test]
fn a_host_name_is_resolved_and_each_address_bound_once() {
    let fake = Fake::main("listener 1883 localhost\n")
        .host("localhost", &["127.0.0.1", "::1", "127.0.0.1"]);
    let c = fake.load().expect("localhost").config;
    assert_eq!(plain(&c), vec![addr("127.0.0.1:1883"), addr("[::1]:1883")]);
    let e = Fake::main("\nlistener 1883 nowhere.invalid\n")
        .load()
        .expect_err("unresolvable");
    assert_eq!(
        e.to_string(),
        format!(
            "{MAIN}:2: Unable to use bind address nowhere.invalid (Name or service not known)."
        )
    );
}

#[test]
fn socket_domain_keeps_one_address_family() {
    let c = config("listener 1883\nsocket_domain ipv4\n");
    assert_eq!(plain(&c), vec![addr("0.0.0.0:1883")]);
    assert_eq!(
        c.listeners[0].options.socket_domain,
        Some(SocketDomain::Ipv4)
    );
    let c = config("listener 1883\nsocket_domain ipv6\n");
    assert_eq!(plain(&c), vec![addr("[::]:1883")]);
    let fake = Fake::main("listener 1883 localhost\nsocket_domain ipv6\n")
        .host("localhost", &["127.0.0.1", "::1"]);
    assert_eq!(
        plain(&fake.load().expect("v6").config),
        vec![addr("[::1]:1883")]
    );
    assert_eq!(
        message("listener 1883 127.0.0.1\nsocket_domain ipv6\n"),
        format!(
            "{MAIN}:1: Unable to use bind address 127.0.0.1 (no IPv6 address, and socket_domain \
             is ipv6)."
        )
    );
}

#[test]
fn no_listener_line_is_local_only_on_1883_or_the_p_ports() {
    let loaded = loaded("max_queued_messages 10\n");
    assert!(loaded.local_only);
    assert_eq!(
        plain(&loaded.config),
        vec![addr("127.0.0.1:1883"), addr("[::1]:1883")]
    );
    assert!(
        loaded
            .config
            .listeners
            .iter()
            .all(|l| l.options.origin.is_none())
    );
    let fake = Fake::main("max_queued_messages 10\n");
    let loaded = fake.load_with_ports(&[1884, 1885]).expect("ports");
    assert_eq!(
        plain(&loaded.config),
        vec![
            addr("127.0.0.1:1884"),
            addr("[::1]:1884"),
            addr("127.0.0.1:1885"),
            addr("[::1]:1885"),
        ]
    );
}

#[test]
fn p_ports_are_ignored_when_the_file_defines_a_listener() {
    let loaded = Fake::main("listener 1883 127.0.0.1\n")
        .load_with_ports(&[1999])
        .expect("ports");
    assert!(!loaded.local_only);
    assert_eq!(plain(&loaded.config), vec![addr("127.0.0.1:1883")]);
}

#[test]
fn port_and_bind_address_configure_the_default_listener() {
    let loaded = loaded("port 1999\n");
    assert!(!loaded.local_only);
    assert_eq!(
        plain(&loaded.config),
        vec![addr("0.0.0.0:1999"), addr("[::]:1999")]
    );
    assert_eq!(
        loaded.notes[0].to_string(),
        format!("port ({MAIN}:1) is deprecated")
    );
    let c = config("bind_address 127.0.0.1\n");
    assert_eq!(plain(&c), vec![addr("127.0.0.1:1883")]);
    let c = config("bind_address 127.0.0.1\nport 1999\n");
    assert_eq!(plain(&c), vec![addr("127.0.0.1:1999")]);
}

#[test]
fn the_default_listener_exists_beside_other_listeners_when_its_options_call_for_it() {
    // #2285: an option before the first listener opens 1883 as well.
    let c = config("max_connections 10\nlistener 1884 127.0.0.1\n");
    assert_eq!(
        plain(&c),
        vec![
            addr("127.0.0.1:1884"),
            addr("0.0.0.0:1883"),
            addr("[::]:1883")
        ]
    );
    // Options that do not create it: max_topic_alias, and the security options without
    // per_listener_settings.
    let c = config("max_topic_alias 10\npassword_file /p\nlistener 1884 127.0.0.1\n");
    assert_eq!(plain(&c), vec![addr("127.0.0.1:1884")]);
    // With per_listener_settings, a password file before any listener is the default
    // listener's, and opens it.
    let c = config("per_listener_settings true\npassword_file /p\nlistener 1884 127.0.0.1\n");
    assert_eq!(c.listeners.len(), 3);
    assert_eq!(
        c.listeners[2].options.security.password_file,
        Some(PathBuf::from("/p"))
    );
    assert_eq!(c.listeners[0].options.security.password_file, None);
}

#[test]
fn listener_options_without_a_listener_line_stay_local_only() {
    // mosquitto 2.0.11 opened 0.0.0.0:1883 here with anonymous access forced on (#2283);
    // the 2.0.12 rule keeps local-only mode, and the options apply to its listeners.
    let loaded = loaded("max_connections 10\nsocket_domain ipv4\n");
    assert!(loaded.local_only);
    assert_eq!(plain(&loaded.config), vec![addr("127.0.0.1:1883")]);
    let options = &loaded.config.listeners[0].options;
    assert_eq!(options.max_connections, Some(10));
    assert!(options.allow_anonymous);
    let origin = options.origin.clone().expect("the line that configured it");
    assert_eq!(origin.line, 1);
}

#[test]
fn per_listener_options_are_kept() {
    let c = config(
        "listener 1883\nmax_connections 0\nmax_qos 1\nuse_username_as_clientid true\nbind_interface lo\nmount_point home/\nmax_topic_alias 4\n",
    );
    let o = &c.listeners[0].options;
    assert_eq!(o.max_connections, None);
    assert_eq!(o.max_qos, 1);
    assert!(o.use_username_as_clientid);
    assert_eq!(o.bind_interface.as_deref(), Some("lo"));
    assert_eq!(o.mount_point.as_deref(), Some("home/"));
    assert_eq!(o.max_topic_alias, Some(4));
}

#[test]
fn each_listener_has_its_own_max_topic_alias() {
    let c = config(
        "listener 1883\nmax_topic_alias 4\nlistener 1884\nmax_topic_alias 0\nlistener 1885\n",
    );
    let values: Vec<Option<u16>> = c
        .listeners
        .iter()
        .map(|l| l.options.max_topic_alias)
        .collect();
    // Each `listener PORT` without an address opens an IPv4 and an IPv6 socket.
    assert_eq!(values, [Some(4), Some(4), Some(0), Some(0), None, None]);
    // The last one takes mosquitto's default, 10.
    assert_eq!(c.topic_alias_maximum, 10);
}

#[test]
#[cfg(feature = "tls")]
fn certfile_and_keyfile_make_a_tls_listener() {
    let c = config(
        "listener 1883 127.0.0.1\nlistener 8883 127.0.0.1\ncertfile /c.pem\nkeyfile /k.pem\n",
    );
    assert_eq!(plain(&c), vec![addr("127.0.0.1:1883")]);
    assert_eq!(sockets(&c, ListenerKind::Tls), vec![addr("127.0.0.1:8883")]);
    assert_eq!(
        c.tls,
        Some(TlsIdentity::Pem {
            cert: PathBuf::from("/c.pem"),
            key: PathBuf::from("/k.pem"),
        })
    );
}

#[test]
#[cfg(feature = "tls")]
fn tls_files_must_be_complete_and_the_same_on_every_tls_listener() {
    assert_eq!(
        message("listener 8883\ncertfile /c.pem\n"),
        format!("{MAIN}:2: This listener has TLS files but no keyfile.")
    );
    let two = "listener 8883\ncertfile /a.pem\nkeyfile /a.key\nlistener 8884\ncertfile /b.pem\nkeyfile /b.key\n";
    assert_eq!(
        message(two),
        format!(
            "{MAIN}:5: certfile/keyfile differs between listeners: minibroker presents one \
             certificate and key on every TLS listener."
        )
    );
    let same = "listener 8883\ncertfile /a.pem\nkeyfile /a.key\nlistener 8884\ncertfile /a.pem\nkeyfile /a.key\n";
    assert_eq!(sockets(&config(same), ListenerKind::Tls).len(), 4);
    let notes = notes("allow_anonymous true\nlistener 1883\ncafile /ca.pem\n");
    assert_eq!(
        notes,
        [format!(
            "TLS option ({MAIN}:3) is ignored: this listener has no certfile and keyfile, so it \
             does not use TLS"
        )]
    );
}

#[test]
fn websockets_listeners_beside_mqtt_and_unix_socket_ones() {
    let loaded = loaded(
        "listener 1883 127.0.0.1\nlistener 9001 127.0.0.1\nprotocol websockets\nhttp_dir /srv/www\n\
         websockets_trust_forwarded_for true\nlistener 0 /run/mqtt.sock\n",
    );
    let c = &loaded.config;
    assert_eq!(plain(c), vec![addr("127.0.0.1:1883")]);
    assert_eq!(websockets(c), vec![addr("127.0.0.1:9001")]);
    let ws = &c.listeners[1];
    assert_eq!(ws.kind, ListenerKind::Plain);
    assert_eq!(ws.options.protocol, ListenerProtocol::WebSockets);
    assert_eq!(ws.options.http_dir, Some(PathBuf::from("/srv/www")));
    assert!(ws.options.trust_forwarded_for);
    assert!(!c.listeners[0].options.trust_forwarded_for);
    assert_eq!(c.unix_listeners.len(), 1);
    let unix = &c.unix_listeners[0];
    assert_eq!(unix.path, PathBuf::from("/run/mqtt.sock"));
    assert_eq!(unix.options.origin.as_ref().map(|o| o.line), Some(6));
    assert!(loaded.notes.is_empty(), "{:?}", loaded.notes);
}

#[test]
fn websockets_options_on_an_mqtt_listener_are_noted_as_ignored() {
    let loaded =
        loaded("listener 1883 127.0.0.1\nhttp_dir /srv/www\nwebsockets_trust_forwarded_for true\n");
    let notes: Vec<String> = loaded.notes.iter().map(Note::to_string).collect();
    let why = "is ignored: this listener does not speak WebSockets";
    assert_eq!(
        notes,
        [
            format!("http_dir ({MAIN}:1) {why}"),
            format!("websockets_trust_forwarded_for ({MAIN}:1) {why}"),
        ]
    );
}

#[test]
fn wss_is_a_websockets_listener_with_tls_files() {
    if !cfg!(feature = "tls") {
        return;
    }
    let c =
        config("listener 8081 127.0.0.1\nprotocol websockets\ncertfile /c.pem\nkeyfile /k.pem\n");
    assert_eq!(c.listeners.len(), 1);
    assert_eq!(c.listeners[0].kind, ListenerKind::Tls);
    assert_eq!(
        c.listeners[0].options.protocol,
        ListenerProtocol::WebSockets
    );
}

#[test]
fn a_websockets_listener_binds_to_an_ip_address_only() {
    assert_eq!(
        message("listener 9001 localhost\nprotocol websockets\n"),
        format!(
            "{MAIN}:1: Invalid listener value (localhost): a WebSockets listener binds to an IP \
             address only."
        )
    );
}

#[test]
fn a_websockets_listener_alone_and_not_on_a_unix_socket() {
    let c = config("allow_anonymous true\nlistener 9001 127.0.0.1\nprotocol websockets\n");
    assert_eq!(websockets(&c), vec![addr("127.0.0.1:9001")]);
    assert_eq!(
        message("listener 0 /run/ws.sock\nprotocol websockets\n"),
        format!(
            "{MAIN}:1: listener 0 /run/ws.sock is not supported: minibroker's WebSockets \
             listeners need a TCP port."
        )
    );
    // A Unix socket alone is enough.
    let c = config("allow_anonymous true\nlistener 0 /run/mqtt.sock\n");
    assert!(c.listeners.is_empty());
    assert_eq!(c.unix_listeners.len(), 1);
}

#[test]
fn a_unix_socket_listener_does_not_use_tls() {
    assert_eq!(
        message("listener 0 /run/mqtt.sock\ncertfile /c.pem\nkeyfile /k.pem\n"),
        format!(
            "{MAIN}:2: listener 0 /run/mqtt.sock is not supported: minibroker's Unix socket \
             listeners do not use TLS."
        )
    );
}
