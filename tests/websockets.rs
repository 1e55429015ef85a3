//! MQTT over WebSockets through real sockets, with a raw WebSocket client (`common::ws`): the
//! upgrade and both subprotocols, MQTT across frames and several packets in one, to and from a
//! TCP client, the handshake errors (RFC 6455 section 4.2.1) and their closed connections, the
//! request size bound, unmasked, text and oversize frames, and a silent handshake that delays
//! no one.
#![cfg(feature = "websockets")]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::conf::{ConfDir, free_port};
use common::ws::{assert_closed, frame, http, read_frame, read_mqtt, request, upgraded};
use common::{Broker, Client, Connect, Publish, exchange_qos1};

/// A broker with a plain MQTT listener and a WebSockets one; returns it and the WebSocket port.
fn start(extra: &str) -> (Broker, SocketAddr, ConfDir) {
    let dir = ConfDir::new();
    let (mqtt, ws) = (free_port(), free_port());
    let conf = dir.write(
        "ws.conf",
        &format!(
            "allow_anonymous true\nlistener {mqtt} 127.0.0.1\n\
             listener {ws} 127.0.0.1\nprotocol websockets\n{extra}"
        ),
    );
    let broker = Broker::start_exactly(&["-c", &conf, "-v"], &[]);
    (broker, SocketAddr::from(([127, 0, 0, 1], ws)), dir)
}

#[test]
fn mqtt_over_websockets_reaches_tcp_clients_both_ways() {
    let (mut broker, ws, _dir) = start("");
    let (mut s, head) = http(ws, &request("Sec-WebSocket-Protocol: mqtt\r\n"));
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    assert!(head.contains("Sec-WebSocket-Protocol: mqtt\r\n"), "{head}");
    // CONNECT split over two frames with a ping between them [MQTT-6.0.0-2].
    let connect = Connect::v311("ws-client").encode();
    let mut bytes = frame(0x2, &connect[..5]);
    bytes.extend(frame(0x9, b"hi"));
    bytes.extend(frame(0x2, &connect[5..]));
    s.write_all(&bytes).unwrap();
    assert_eq!(read_frame(&mut s), (0xA, b"hi".to_vec()), "the pong");
    let (op, connack) = read_frame(&mut s);
    assert_eq!((op, connack), (0x2, vec![0x20, 0x02, 0x00, 0x00]));
    // SUBSCRIBE to "from/tcp" QoS 0, then a TCP client publishes.
    let subscribe = [
        0x82, 0x0D, 0x00, 0x01, 0x00, 0x08, b'f', b'r', b'o', b'm', b'/', b't', b'c', b'p', 0x00,
    ];
    s.write_all(&frame(0x2, &subscribe)).unwrap();
    assert_eq!(read_frame(&mut s).1, [0x90, 0x03, 0x00, 0x01, 0x00]);
    let mut tcp = Client::connect(broker.addr(), "tcp-client");
    tcp.publish_complete(&Publish::new("from/tcp", b"hello ws"));
    let (_, publish) = read_frame(&mut s);
    assert!(publish.ends_with(b"hello ws"), "{publish:02x?}");
    // And the other way: the WebSocket client publishes to a TCP subscriber.
    assert_eq!(tcp.subscribe(1, &[("from/ws", 0)]), [0]);
    let publish = [
        0x30, 0x0B, 0x00, 0x07, b'f', b'r', b'o', b'm', b'/', b'w', b's', b'o', b'k',
    ];
    s.write_all(&frame(0x2, &publish)).unwrap();
    assert_eq!(tcp.receive().payload_str(), "ok");
    // A close frame is answered with one echoing the code (section 5.5.1).
    s.write_all(&frame(0x8, &1000u16.to_be_bytes())).unwrap();
    assert_eq!(read_frame(&mut s), (0x8, 1000u16.to_be_bytes().to_vec()));
    broker.assert_alive();
}

#[test]
fn bad_handshakes_get_an_http_error() {
    let (mut broker, ws, _dir) = start("");
    let cases = [
        (request("").replace("Version: 13", "Version: 8"), "426"),
        (
            request("").replace("Upgrade: websocket", "Upgrade: h2c"),
            "400",
        ),
        (request("Sec-WebSocket-Protocol: chat\r\n"), "400"),
        ("POST / HTTP/1.1\r\nHost: x\r\n\r\n".to_string(), "405"),
        // A plain GET with no http_dir.
        ("GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_string(), "426"),
        (
            "\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\r\n\r\n".to_string(),
            "400",
        ),
        (request(&format!("Cookie: {}\r\n", "x".repeat(5000))), "431"),
    ];
    for (text, status) in cases {
        let (_, head) = http(ws, &text);
        assert!(
            head.starts_with(&format!("HTTP/1.1 {status} ")),
            "{status}: {head}"
        );
    }
    // No subprotocol offered: accepted as MQTT, answered without one (section 4.2.2).
    let (_, head) = http(ws, &request(""));
    assert!(
        head.starts_with("HTTP/1.1 101 ") && !head.contains("Sec-WebSocket-Protocol"),
        "{head}"
    );
    exchange_qos1(broker.addr(), "after-bad-handshakes", 10);
    broker.assert_alive();
}

#[test]
fn an_unmasked_frame_closes_the_connection_with_1002() {
    let (mut broker, ws, _dir) = start("");
    let (mut s, head) = http(ws, &request("Sec-WebSocket-Protocol: mqtt\r\n"));
    assert!(head.starts_with("HTTP/1.1 101 "));
    // Section 5.1: a server must close on a frame that is not masked.
    s.write_all(&[0x82, 0x02, 0xC0, 0x00]).unwrap();
    assert_eq!(read_frame(&mut s), (0x8, 1002u16.to_be_bytes().to_vec()));
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(broker.wait_for_log("unmasked WebSocket frame", Duration::from_secs(5)));
    broker.assert_alive();
}

/// RFC 6455 section 7.4.1: 1009 closes a connection that "received a message that is too
/// big for it to process". A frame header announcing 1 TiB is refused before any payload,
/// with a close frame and a log line; another WebSocket client and a TCP one carry on.
#[test]
fn a_message_above_max_packet_size_is_closed_with_1009_and_others_carry_on() {
    let (mut broker, ws, _dir) = start("max_packet_size 1000\n");
    let mut other = upgraded(ws);
    other
        .write_all(&frame(0x2, &Connect::v311("bystander").encode()))
        .unwrap();
    assert_eq!(read_mqtt(&mut other, 4), [0x20, 0x02, 0x00, 0x00]);
    let subscribe = common::wire::subscribe(1, &[("news", 0)]);
    other.write_all(&frame(0x2, &subscribe)).unwrap();
    assert_eq!(read_mqtt(&mut other, 5), [0x90, 0x03, 0x00, 0x01, 0x00]);

    let mut s = upgraded(ws);
    s.write_all(&frame(0x2, &Connect::v311("greedy").encode()))
        .unwrap();
    assert_eq!(read_mqtt(&mut s, 4), [0x20, 0x02, 0x00, 0x00]);
    let mut header = vec![0x82, 0x80 | 127];
    header.extend_from_slice(&(1u64 << 40).to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    s.write_all(&header).unwrap();
    assert_eq!(read_frame(&mut s), (0x8, 1009u16.to_be_bytes().to_vec()));
    assert_closed(&mut s);
    assert!(broker.wait_for_log(
        "WebSocket message of 1099511627776 bytes",
        Duration::from_secs(5)
    ));

    let mut tcp = Client::connect(broker.addr(), "publisher");
    tcp.publish_complete(&Publish::new("news", b"still here"));
    let publish = read_mqtt(&mut other, 16);
    assert!(publish.ends_with(b"still here"), "{publish:02x?}");
    exchange_qos1(broker.addr(), "after-1009", 10);
    broker.assert_alive();
}

/// [MQTT-6.0.0-2]: one frame may carry several packets; the answers come back in order.
#[test]
fn several_mqtt_packets_in_one_frame() {
    let (mut broker, ws, _dir) = start("");
    let mut s = upgraded(ws);
    let mut packets = Connect::v311("batched").encode();
    packets.extend(common::wire::subscribe(1, &[("a/#", 1)]));
    packets.extend(common::wire::pingreq());
    s.write_all(&frame(0x2, &packets)).unwrap();
    // CONNACK, SUBACK granting QoS 1, PINGRESP.
    assert_eq!(
        read_mqtt(&mut s, 11),
        [
            0x20, 0x02, 0x00, 0x00, 0x90, 0x03, 0x00, 0x01, 0x01, 0xD0, 0x00
        ]
    );
    broker.assert_alive();
}

/// The `mqttv3.1` subprotocol of older clients is accepted, as mosquitto does, and echoed
/// (section 4.2.2); an MQTT 3.1 CONNECT follows.
#[test]
fn the_mqttv3_1_subprotocol_is_accepted() {
    let (mut broker, ws, _dir) = start("");
    let (mut s, head) = http(ws, &request("Sec-WebSocket-Protocol: mqttv3.1\r\n"));
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(
        head.contains("Sec-WebSocket-Protocol: mqttv3.1\r\n"),
        "{head}"
    );
    s.write_all(&frame(0x2, &Connect::v31("old-client").encode()))
        .unwrap();
    assert_eq!(read_mqtt(&mut s, 4), [0x20, 0x02, 0x00, 0x00]);
    broker.assert_alive();
}

/// [MQTT-6.0.0-1]: MQTT travels in binary frames; a text frame closes the connection, with
/// status 1003 (section 7.4.1: data of a type it cannot accept).
#[test]
fn a_text_frame_closes_the_connection_with_1003() {
    let (mut broker, ws, _dir) = start("");
    let mut s = upgraded(ws);
    s.write_all(&frame(0x2, &Connect::v311("texter").encode()))
        .unwrap();
    assert_eq!(read_mqtt(&mut s, 4), [0x20, 0x02, 0x00, 0x00]);
    s.write_all(&frame(0x1, b"{\"hello\": 1}")).unwrap();
    assert_eq!(read_frame(&mut s), (0x8, 1003u16.to_be_bytes().to_vec()));
    assert_closed(&mut s);
    assert!(broker.wait_for_log("WebSocket text frame", Duration::from_secs(5)));
    broker.assert_alive();
}

/// A refused request gets its status line, then the connection is closed (RFC 6455
/// section 4.2.1: the server "MUST stop processing the client's handshake"), not left open.
#[test]
fn a_bad_request_is_closed_after_its_error_status() {
    let (mut broker, ws, _dir) = start("");
    let cases = [
        (request("Sec-WebSocket-Protocol: chat\r\n"), "400"),
        ("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n".to_string(), "405"),
        (request("").replace("Version: 13", "Version: 8"), "426"),
    ];
    for (text, status) in cases {
        let (mut s, head) = http(ws, &text);
        assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
        assert_closed(&mut s);
    }
    broker.assert_alive();
}

#[test]
fn a_silent_handshake_delays_no_one_and_ends_at_the_connect_timeout() {
    let (mut broker, ws, _dir) = start("");
    let mut silent = TcpStream::connect(ws).unwrap();
    let mut half = TcpStream::connect(ws).unwrap();
    half.write_all(b"GET /mqtt HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let started = Instant::now();
    // Others are served meanwhile, on both listeners.
    exchange_qos1(broker.addr(), "beside-slow-handshakes", 20);
    let (_, head) = http(ws, &request("Sec-WebSocket-Protocol: mqtt\r\n"));
    assert!(head.starts_with("HTTP/1.1 101 "));
    assert!(started.elapsed() < Duration::from_secs(3));
    // The default CONNECT timeout (10 s) ends the half-open handshakes.
    for s in [&mut silent, &mut half] {
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let mut buf = [0u8; 16];
        assert!(matches!(s.read(&mut buf), Ok(0) | Err(_)));
    }
    broker.assert_alive();
}

#[test]
fn http_dir_serves_files_inside_the_folder_only() {
    let www = ConfDir::new();
    www.write("index.html", "<p>hello</p>");
    www.write("app/main.js", "let x = 1;");
    let (mut broker, ws, _dir) = start(&format!("http_dir {}\n", www.path("")));
    let (mut s, head) = http(ws, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("Content-Type: text/html"), "{head}");
    assert!(head.contains("Content-Length: 12\r\n"), "{head}");
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert_eq!(body, "<p>hello</p>");
    let (_, head) = http(ws, "GET /app HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        head.starts_with("HTTP/1.1 302 ") && head.contains("Location: /app/\r\n"),
        "{head}"
    );
    let (mut s, head) = http(ws, "GET /app/main.js?v=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(head.contains("text/javascript"), "{head}");
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert_eq!(body, "let x = 1;");
    for target in ["/../ws.conf", "/%2e%2e/ws.conf", "/missing.html"] {
        let (_, head) = http(ws, &format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(head.starts_with("HTTP/1.1 404 "), "{target}: {head}");
    }
    // The upgrade still works on the same listener.
    let (_, head) = http(ws, &request("Sec-WebSocket-Protocol: mqtt\r\n"));
    assert!(head.starts_with("HTTP/1.1 101 "));
    broker.assert_alive();
}

#[test]
fn x_forwarded_for_names_the_client_only_when_trusted() {
    let (broker, ws, _dir) = start("websockets_trust_forwarded_for true\n");
    let (mut s, head) = http(
        ws,
        &request("Sec-WebSocket-Protocol: mqtt\r\nX-Forwarded-For: 10.9.8.7, 203.0.113.7\r\n"),
    );
    assert!(head.starts_with("HTTP/1.1 101 "));
    s.write_all(&frame(0x2, &Connect::v311("proxied").encode()))
        .unwrap();
    assert_eq!(read_frame(&mut s).1, [0x20, 0x02, 0x00, 0x00]);
    assert!(broker.wait_for_log(
        "New client connected from 203.0.113.7 (via 127.0.0.1:",
        Duration::from_secs(5)
    ));
    let (untrusting, ws2, _dir2) = start("");
    let (mut s, _) = http(
        ws2,
        &request("Sec-WebSocket-Protocol: mqtt\r\nX-Forwarded-For: 203.0.113.7\r\n"),
    );
    s.write_all(&frame(0x2, &Connect::v311("direct").encode()))
        .unwrap();
    assert_eq!(read_frame(&mut s).1, [0x20, 0x02, 0x00, 0x00]);
    assert!(untrusting.wait_for_log(
        "New client connected from 127.0.0.1:",
        Duration::from_secs(5)
    ));
    assert!(!untrusting.logs().iter().any(|l| l.contains("203.0.113.7")));
}

/// wss://: a WebSockets listener with certfile and keyfile; the upgrade and MQTT run inside TLS.
#[cfg(feature = "tls")]
#[test]
fn wss_carries_mqtt_inside_tls() {
    let certs = common::tls::Certs::new();
    let extra = format!(
        "listener {} 127.0.0.1\nprotocol websockets\ncertfile {}\nkeyfile {}\n",
        free_port(),
        certs.arg("server.crt"),
        certs.arg("server.key")
    );
    let (mut broker, _ws, _dir) = start(&extra);
    assert!(broker.wait_for_log("(WebSockets, TLS)", Duration::from_secs(5)));
    let line = broker
        .logs()
        .into_iter()
        .find(|l| l.ends_with(" (WebSockets, TLS)"))
        .unwrap();
    let port: u16 = line
        .rsplit(':')
        .next()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let mut tls = common::tls::handshake(
        SocketAddr::from(([127, 0, 0, 1], port)),
        &certs.path("ca.crt"),
    )
    .expect("TLS handshake");
    tls.write_all(request("Sec-WebSocket-Protocol: mqtt\r\n").as_bytes())
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        tls.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101 "));
    tls.write_all(&frame(0x2, &Connect::v311("wss-client").encode()))
        .unwrap();
    let mut connack = [0u8; 6];
    tls.read_exact(&mut connack).unwrap();
    assert_eq!(connack, [0x82, 0x04, 0x20, 0x02, 0x00, 0x00]);
    broker.assert_alive();
}
