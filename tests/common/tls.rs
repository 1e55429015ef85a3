//! For the TLS tests: certificates made at test time with the `openssl` command (a CA and a
//! server certificate for localhost and 127.0.0.1, in a temporary directory removed afterwards;
//! no key is ever committed), and a blocking MQTT client over native-tls.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use native_tls::{Certificate, TlsConnector, TlsStream};

use super::TIMEOUT;
use super::wire::{self, Connect, Packet, Publish};

static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

/// A temporary directory with a CA (`ca.crt`) and a server certificate it signed
/// (`server.crt`, `server.key`, PKCS#8), valid for `localhost` and `127.0.0.1`.
pub struct Certs {
    pub dir: PathBuf,
}

impl Certs {
    pub fn new() -> Certs {
        let n = NEXT_DIR.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("minibroker-tls-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the certificate directory");
        let certs = Certs { dir };
        certs.make_ca("ca", "minibroker-test-CA");
        certs.make_server("server", "ca", "localhost", 1);
        certs
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `path(name)` as a string, for command lines.
    pub fn arg(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }

    /// A self-signed CA: `{name}.crt` and `{name}.key`; `common_name` without spaces.
    pub fn make_ca(&self, name: &str, common_name: &str) {
        self.openssl(&format!(
            "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
             -subj /CN={common_name} -keyout {name}.key -out {name}.crt"
        ));
    }

    /// A server certificate signed by CA `ca`: `{name}.crt` and `{name}.key` (PKCS#8), with
    /// subject CN `common_name` and the given serial number, for localhost and 127.0.0.1.
    pub fn make_server(&self, name: &str, ca: &str, common_name: &str, serial: u32) {
        fs::write(
            self.path("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n\
             basicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth\n",
        )
        .expect("write server.ext");
        self.openssl(&format!(
            "req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
             -subj /CN={common_name} -keyout {name}.key -out {name}.csr"
        ));
        self.openssl(&format!(
            "x509 -req -in {name}.csr -CA {ca}.crt -CAkey {ca}.key -set_serial {serial} \
             -days 2 -extfile server.ext -out {name}.crt"
        ));
    }

    /// `{name}.p12`: the server's key and certificate, with the CA, under `password`.
    pub fn make_pkcs12(&self, name: &str, password: &str) {
        self.openssl(&format!(
            "pkcs12 -export -inkey server.key -in server.crt -certfile ca.crt -out {name}.p12 \
             -passout pass:{password}"
        ));
    }

    /// The DER encoding of the first certificate in a PEM file, to compare with what a server
    /// presented.
    pub fn der(&self, name: &str) -> Vec<u8> {
        let pem = fs::read(self.path(name)).expect("read certificate");
        Certificate::from_pem(&pem)
            .and_then(|c| c.to_der())
            .expect("parse certificate")
    }

    /// Runs `openssl` in the directory; `command` is split at whitespace.
    fn openssl(&self, command: &str) {
        let args: Vec<&str> = command.split_whitespace().collect();
        let output = Command::new("openssl")
            .args(&args)
            .current_dir(&self.dir)
            .output()
            .expect("the openssl command is needed by the TLS tests");
        assert!(
            output.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A TLS connector that trusts only the CA in `ca_file`.
pub fn connector(ca_file: &Path) -> TlsConnector {
    let pem = fs::read(ca_file).expect("read the CA certificate");
    let ca = Certificate::from_pem(&pem).expect("parse the CA certificate");
    TlsConnector::builder()
        .add_root_certificate(ca)
        .disable_built_in_roots(true)
        .build()
        .expect("TLS connector")
}

/// A TCP connection with timeouts, so no TLS test can hang on a silent broker.
pub fn tcp(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
    stream.set_nodelay(true).expect("set_nodelay");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set_read_timeout");
    stream
        .set_write_timeout(Some(Duration::from_secs(20)))
        .expect("set_write_timeout");
    stream
}

/// A TLS handshake with the broker as `localhost`.
pub fn handshake(addr: SocketAddr, ca_file: &Path) -> Result<TlsStream<TcpStream>, String> {
    connector(ca_file)
        .connect("localhost", tcp(addr))
        .map_err(|e| e.to_string())
}

/// A raw MQTT 3.1.1 client over TLS.
pub struct TlsClient {
    pub stream: TlsStream<TcpStream>,
    buf: Vec<u8>,
    label: String,
}

impl TlsClient {
    /// Handshakes, sends CONNECT (clean session) and asserts CONNACK 0.
    pub fn connect(addr: SocketAddr, ca_file: &Path, client_id: &str) -> TlsClient {
        let stream = handshake(addr, ca_file)
            .unwrap_or_else(|e| panic!("TLS handshake for {client_id:?} failed: {e}"));
        let mut client = TlsClient {
            stream,
            buf: Vec::new(),
            label: format!("TLS client {client_id:?}"),
        };
        client.send(&Connect::v311(client_id).encode());
        match client.next_packet(TIMEOUT) {
            Some(Packet::ConnAck { code: 0, .. }) => {}
            other => panic!("{}: expected CONNACK 0, got {other:?}", client.label),
        }
        client
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush())
            .unwrap_or_else(|e| panic!("{}: write failed: {e}", self.label));
    }

    pub fn subscribe(&mut self, topic: &str, qos: u8) {
        self.send(&wire::subscribe(1, &[(topic, qos)]));
        match self.next_packet(TIMEOUT) {
            Some(Packet::SubAck { pid: 1, codes }) => assert_eq!(codes, [qos], "{}", self.label),
            other => panic!("{}: expected SUBACK, got {other:?}", self.label),
        }
    }

    /// Publishes at QoS 1 and waits for the PUBACK.
    pub fn publish_qos1(&mut self, topic: &str, payload: &[u8], pid: u16) {
        self.send(&Publish::new(topic, payload).qos(1, pid).encode());
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            match self.next_packet(deadline - Instant::now()) {
                Some(Packet::PubAck(got)) if got == pid => return,
                Some(_) => {}
                None => break,
            }
        }
        panic!("{}: no PUBACK {pid}", self.label);
    }

    /// The next PUBLISH, acknowledged if QoS 1.
    pub fn receive(&mut self) -> Publish {
        loop {
            match self.next_packet(TIMEOUT) {
                Some(Packet::Publish(publish)) => {
                    if let (1, Some(pid)) = (publish.qos, publish.pid) {
                        self.send(&wire::puback(pid));
                    }
                    return publish;
                }
                Some(_) => {}
                None => panic!("{}: no PUBLISH within {TIMEOUT:?}", self.label),
            }
        }
    }

    /// Sends DISCONNECT and closes the TLS session.
    pub fn disconnect(mut self) {
        self.send(&wire::disconnect());
        let _ = self.stream.shutdown();
    }

    /// The next packet, or `None` after `timeout`; panics if the connection ends.
    pub fn next_packet(&mut self, timeout: Duration) -> Option<Packet> {
        match self.read_until(timeout) {
            Ok(packet) => packet,
            Err(why) => panic!("{}: connection ended ({why})", self.label),
        }
    }

    /// Reads until a packet, the end of the connection (`Err` with how it ended: "close_notify"
    /// for a clean TLS close) or `timeout` (`Ok(None)`).
    pub fn read_until(&mut self, timeout: Duration) -> Result<Option<Packet>, String> {
        let deadline = Instant::now() + timeout;
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            if let Some((first_byte, body, used)) = wire::split_packet(&self.buf).expect("framing")
            {
                self.buf.drain(..used);
                return Ok(Some(Packet::decode(first_byte, body)));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let socket = self.stream.get_ref();
            socket
                .set_read_timeout(Some(deadline - now))
                .expect("set_read_timeout");
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err("close_notify".into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    }
}
