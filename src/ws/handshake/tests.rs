//! The upgrade request: RFC 6455's own example, every prefix partial, the size bound, the
//! subprotocol rules and each header the server must check (section 4.2.1).

use super::*;

const LIMIT: usize = 4096;

/// A browser-like upgrade with `protocol` lines added (none when empty).
fn upgrade(extra: &str) -> String {
    format!(
        "GET /mqtt HTTP/1.1\r\nHost: localhost:9001\r\nUpgrade: websocket\r\n\
         Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nOrigin: http://localhost\r\n{extra}\r\n"
    )
}

fn parse(text: &str) -> Result<Option<Parsed>, HttpError> {
    parse_request(text.as_bytes(), LIMIT)
}

fn upgraded(text: &str) -> Upgrade {
    match parse(text) {
        Ok(Some(Parsed {
            request: Request::Upgrade(u),
            ..
        })) => u,
        other => panic!("not an upgrade: {other:?}"),
    }
}

#[test]
fn the_accept_key_of_rfc_6455_section_1_3() {
    assert_eq!(
        accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

#[test]
fn an_upgrade_with_the_mqtt_subprotocol() {
    let text = upgrade("Sec-WebSocket-Protocol: mqtt\r\n");
    let up = upgraded(&text);
    assert_eq!(up.protocol.as_deref(), Some("mqtt"));
    let response = String::from_utf8(up.response()).unwrap();
    assert_eq!(
        response,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
    );
}

#[test]
fn every_prefix_is_partial_and_what_follows_is_left() {
    let text = upgrade("Sec-WebSocket-Protocol: mqtt\r\n");
    for end in 0..text.len() {
        assert_eq!(parse(&text[..end]), Ok(None), "prefix of {end} bytes");
    }
    // A client that sends its first frame without waiting: the request ends where it ends.
    let mut with_frame = text.clone().into_bytes();
    with_frame.extend_from_slice(&[0x82, 0x80, 0, 0, 0, 0]);
    let parsed = parse_request(&with_frame, LIMIT).unwrap().unwrap();
    assert_eq!(parsed.len, text.len());
}

#[test]
fn subprotocols_mqtt_and_mqttv31_are_chosen_over_others() {
    let up = upgraded(&upgrade("Sec-WebSocket-Protocol: chat, mqttv3.1\r\n"));
    assert_eq!(up.protocol.as_deref(), Some("mqttv3.1"));
    // Two header lines count as one list; mqtt is preferred.
    let up = upgraded(&upgrade(
        "Sec-WebSocket-Protocol: mqttv3.1\r\nSec-WebSocket-Protocol: mqtt\r\n",
    ));
    assert_eq!(up.protocol.as_deref(), Some("mqtt"));
    // Section 4.2.2: with none offered the answer names none.
    let up = upgraded(&upgrade(""));
    assert_eq!(up.protocol, None);
    let response = String::from_utf8(up.response()).unwrap();
    assert!(!response.contains("Sec-WebSocket-Protocol"), "{response}");
    assert_eq!(
        parse(&upgrade("Sec-WebSocket-Protocol: chat, superchat\r\n")),
        Err(HttpError::NoMqttSubprotocol("chat, superchat".into()))
    );
}

#[test]
fn the_headers_the_server_must_check() {
    let good = upgrade("");
    let cases = [
        (
            "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Version: 8",
            "version",
        ),
        ("Upgrade: websocket", "Upgrade: h2c", "upgrade"),
        (
            "Connection: keep-alive, Upgrade",
            "Connection: keep-alive",
            "connection",
        ),
        ("Host: localhost:9001", "X-Host: localhost", "host"),
        (
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Key: c2hvcnQ=",
            "key",
        ),
        (
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "X-No-Key: 1",
            "no key",
        ),
        ("GET /mqtt HTTP/1.1", "GET /mqtt HTTP/1.0", "HTTP/1.0"),
    ];
    for (from, to, what) in cases {
        let bad = good.replace(from, to);
        let error = parse(&bad).expect_err(what);
        let expected = if what == "version" { 426 } else { 400 };
        assert_eq!(error.status().0, expected, "{what}: {error}");
        let response = String::from_utf8(error.response()).unwrap();
        assert!(
            response.starts_with(&format!("HTTP/1.1 {expected} ")),
            "{response}"
        );
    }
    let version = parse(&good.replace("Version: 13", "Version: 8")).unwrap_err();
    assert!(
        String::from_utf8(version.response())
            .unwrap()
            .contains("Sec-WebSocket-Version: 13\r\n")
    );
}

#[test]
fn the_request_size_is_bounded() {
    let big = upgrade(&format!("Cookie: {}\r\n", "x".repeat(LIMIT)));
    assert_eq!(parse(&big), Err(HttpError::HeadersTooLarge));
    // Refused as soon as the bound is passed, before the request ends.
    assert_eq!(parse(&big[..LIMIT]), Err(HttpError::HeadersTooLarge));
    assert_eq!(parse(&big[..LIMIT - 1]), Ok(None));
    let many: String = (0..100).map(|i| format!("X-{i}: {i}\r\n")).collect();
    assert_eq!(parse(&upgrade(&many)), Err(HttpError::HeadersTooLarge));
    assert_eq!(HttpError::HeadersTooLarge.status().0, 431);
}

#[test]
fn not_http_and_other_methods() {
    assert_eq!(
        parse("\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c"),
        Err(HttpError::BadRequest("not an HTTP request"))
    );
    assert_eq!(
        parse("POST / HTTP/1.1\r\nHost: x\r\n\r\n"),
        Err(HttpError::MethodNotAllowed("POST".into()))
    );
    let get = parse("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap()
        .unwrap();
    assert_eq!(
        get.request,
        Request::Get {
            path: "/index.html".into(),
            head: false
        }
    );
}

#[test]
fn x_forwarded_for_takes_the_address_the_proxy_added() {
    let up = upgraded(&upgrade("X-Forwarded-For: 203.0.113.7, 198.51.100.2\r\n"));
    assert_eq!(up.forwarded_for, Some("198.51.100.2".parse().unwrap()));
    let up = upgraded(&upgrade("X-Forwarded-For: 2001:db8::1\r\n"));
    assert_eq!(up.forwarded_for, Some("2001:db8::1".parse().unwrap()));
    assert_eq!(
        upgraded(&upgrade("X-Forwarded-For: unknown\r\n")).forwarded_for,
        None
    );
    assert_eq!(upgraded(&upgrade("")).forwarded_for, None);
}
