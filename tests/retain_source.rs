//! `check_retain_source true` over real sockets: a retained message stops reaching new
//! subscribers once its publisher's right to publish there is taken away by a reloaded ACL
//! file, across a restart from the store too, and reaches them again when the right returns.
//! Without the option the message keeps going out, as before.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::conf::{ConfDir, free_port};
use common::{Broker, Client, Packet, Publish, TIMEOUT};

/// Anonymous clients read home/#, and each may publish under home/<its client id>/.
const GRANTED: &str = "topic read home/#\npattern write home/%c/#\n";
/// The same readers; nobody may publish any more.
const REVOKED: &str = "topic read home/#\n";

struct Setup {
    dir: ConfDir,
    port: u16,
    conf: String,
}

impl Setup {
    fn new(check: bool, persist: bool) -> Setup {
        let dir = ConfDir::new();
        dir.write("acl", GRANTED);
        let port = free_port();
        let mut conf = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\nacl_file {}\n\
             check_retain_source {check}\n",
            dir.path("acl")
        );
        if persist {
            let store = dir.store_dir("store");
            conf += &format!("persistence true\npersistence_location {store}\n");
        }
        let conf = dir.write("mosquitto.conf", &conf);
        Setup { dir, port, conf }
    }

    fn start(&self) -> Broker {
        Broker::start_exactly(&["-c", &self.conf], &[])
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

/// Client `sensor` retains a reading on its own topic, which the ACL lets it write.
fn retain_reading(addr: SocketAddr) {
    let mut sensor = Client::connect(addr, "sensor");
    sensor.publish(&Publish::new("home/sensor/temp", b"21.5").retain());
    sensor.sync();
}

/// What a new subscriber to home/# is sent at once: the retained payloads.
fn retained_for_new_subscriber(addr: SocketAddr, id: &str) -> Vec<Vec<u8>> {
    let mut reader = Client::connect(addr, id);
    assert_eq!(reader.subscribe(1, &[("home/#", 0)]), [0]);
    let mut payloads = Vec::new();
    while let Some(packet) = reader.try_next(Duration::from_millis(500)) {
        if let Packet::Publish(p) = packet {
            payloads.push(p.payload);
        }
    }
    payloads
}

/// Retains, revokes the publisher's right by SIGHUP, then grants it again; returns what a new
/// subscriber gets before, while revoked, and after.
fn revoke_and_grant(check: bool) -> [Vec<Vec<u8>>; 3] {
    let setup = Setup::new(check, false);
    let broker = setup.start();
    retain_reading(setup.addr());
    let before = retained_for_new_subscriber(setup.addr(), "before");
    setup.dir.write("acl", REVOKED);
    broker.reload("Configuration reloaded.", 1);
    let revoked = retained_for_new_subscriber(setup.addr(), "revoked");
    setup.dir.write("acl", GRANTED);
    broker.reload("Configuration reloaded.", 2);
    let granted = retained_for_new_subscriber(setup.addr(), "granted");
    [before, revoked, granted]
}

#[test]
fn a_revoked_publishers_retained_message_is_withheld_with_the_option() {
    let reading = vec![b"21.5".to_vec()];
    // Withheld, not deleted: it goes out again once the right is back.
    assert_eq!(revoke_and_grant(true), [reading.clone(), vec![], reading]);
}

#[test]
fn without_the_option_it_still_goes_out() {
    let reading = vec![b"21.5".to_vec()];
    assert_eq!(
        revoke_and_grant(false),
        [reading.clone(), reading.clone(), reading]
    );
}

#[test]
fn the_publisher_is_remembered_across_a_restart() {
    let setup = Setup::new(true, true);
    let mut broker = setup.start();
    retain_reading(setup.addr());
    broker.stop(TIMEOUT);

    setup.dir.write("acl", REVOKED);
    let mut broker = setup.start();
    assert_eq!(
        retained_for_new_subscriber(setup.addr(), "revoked"),
        Vec::<Vec<u8>>::new()
    );
    broker.stop(TIMEOUT);

    setup.dir.write("acl", GRANTED);
    let broker = setup.start();
    assert_eq!(
        retained_for_new_subscriber(setup.addr(), "granted"),
        [b"21.5".to_vec()]
    );
    // Still known after two restarts: revoked again, it is withheld again.
    setup.dir.write("acl", REVOKED);
    broker.reload("Configuration reloaded.", 1);
    assert_eq!(
        retained_for_new_subscriber(setup.addr(), "revoked-again"),
        Vec::<Vec<u8>>::new()
    );
}
