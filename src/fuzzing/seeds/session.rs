//! The `session` seeds: client scripts of two or three clients subscribing, publishing at every
//! QoS, acknowledging, leaving their wills, reconnecting to persistent sessions and timing out,
//! and an embedded broker's host program beside them.

use super::packets::{connect, id, publish, subscribe};
use super::{Seed, tag};
use crate::fuzzing::{Op, Script};
use crate::protocol::{
    Disconnect, Packet, Properties, ProtocolVersion, PubResponse, QoS, Unsubscribe,
};

/// Every script, by name.
pub(super) fn seeds() -> Vec<Seed> {
    let v = ProtocolVersion::V3_1_1;
    let mut scripts = Vec::new();
    for version in [ProtocolVersion::V3_1, ProtocolVersion::V3_1_1] {
        let name = format!("{}-two-clients", tag(version));
        scripts.push((name, two_clients(version, [0x01, 4, 0, 0])));
    }
    // The same with every configuration option of the mosquitto.conf that changes delivery:
    // a 16-byte window, an hour's session expiry, a mount point with maximum QoS 1 on every
    // other link, no retained messages, 8-byte payloads, upgraded QoS, duplicate messages.
    let options = two_clients(v, [0x0D, 0xFC, 0, 0]);
    scripts.push(("v311-two-clients-options".into(), options));
    scripts.push(("v311-slow-reader".into(), slow_reader()));
    scripts.push(("v311-retained-backlog".into(), retained_backlog()));
    scripts.push(("refusals-and-timeouts".into(), refusals_and_timeouts()));
    scripts.push(("v311-host-client".into(), host_client()));
    scripts.push(("v311-memory-budget-and-rate".into(), budget_and_rate()));
    scripts
        .into_iter()
        .map(|(name, script)| Seed {
            target: "session",
            name,
            bytes: script.into_bytes(),
        })
        .collect()
}

/// Slow reader: a tiny window and queue fill up while nothing is read, then drain.
fn slow_reader() -> Script {
    let v = ProtocolVersion::V3_1_1;
    let mut script = Script::new([0x80, 2, 4, 0])
        .op(Op::Open)
        .op(Op::Open)
        .send(0, &connect(v, "slow", true, false), v, 1000)
        .send(1, &connect(v, "", true, true), v, 1000)
        .send(0, &subscribe(1, &[("t", QoS::ExactlyOnce)]), v, 1000);
    for n in 1..=6 {
        script = script.send(1, &publish("t", QoS::AtLeastOnce, n, n == 6), v, 1000);
    }
    script
        .op(Op::Consume { link: 0, amount: 5 })
        .read(0)
        .send(0, &Packet::PubAck(PubResponse::new(id(1))), v, 1000)
        .read(0)
        .op(Op::Close { link: 1, loss: 1 })
        .read(0)
}

/// Retained backlog: more retained QoS 1 messages than the window of 1 lets out, a live
/// message on a topic the backlog has not reached, and acknowledgements that drain it.
fn retained_backlog() -> Script {
    let v = ProtocolVersion::V3_1_1;
    let mut script = Script::new([0, 2, 0, 0])
        .op(Op::Open)
        .op(Op::Open)
        .send(0, &connect(v, "store", true, false), v, 1000)
        .send(1, &connect(v, "sub", false, false), v, 1000);
    for n in 1..=6 {
        let topic = format!("r/{n}/x");
        script = script.send(0, &publish(&topic, QoS::AtLeastOnce, n, true), v, 1000);
    }
    script = script
        .send(1, &subscribe(1, &[("r/+/x", QoS::AtLeastOnce)]), v, 1000)
        .send(0, &publish("r/5/x", QoS::AtMostOnce, 0, false), v, 1000)
        .read(1);
    for n in 1..=8 {
        script = script
            .send(1, &Packet::PubAck(PubResponse::new(id(n))), v, 1000)
            .read(1);
    }
    script
}

/// Refusals and timeouts: a 5.0 CONNECT, a link that never sends CONNECT, and garbage.
fn refusals_and_timeouts() -> Script {
    Script::new([0, 0, 0, 2])
        .op(Op::Open)
        .op(Op::Open)
        .op(Op::Open)
        .send(
            0,
            &connect(ProtocolVersion::V5, "five", true, false),
            ProtocolVersion::V5,
            1000,
        )
        .op(Op::Send {
            link: 2,
            bytes: &[0x10, 0x04, 0x00, 0x02, b'M', b'Q'],
        })
        .read(0)
        .op(Op::Advance { tenths: 30 })
        .op(Op::Tick)
        .read(1)
        .read(2)
}

/// A memory budget of a few kilobytes and a publish rate of 2 a second (`config_from` head
/// bits): a subscriber that does not read while a publisher floods it at QoS 0 and 1, so the
/// publisher is held for its rate and the budget's episode starts, pauses it and reaches the
/// limit; then time passes, the subscriber reads and acknowledges, and everything resumes.
fn budget_and_rate() -> Script {
    let v = ProtocolVersion::V3_1_1;
    let mut script = Script::new([0x30, 7, 200, 0])
        .op(Op::Open)
        .op(Op::Open)
        .send(0, &connect(v, "slow", false, false), v, 1000)
        .send(1, &connect(v, "flood", true, false), v, 1000)
        .send(0, &subscribe(1, &[("t/#", QoS::AtLeastOnce)]), v, 1000);
    for n in 1..=24 {
        let qos = if n % 3 == 0 {
            QoS::AtLeastOnce
        } else {
            QoS::AtMostOnce
        };
        script = script.send(1, &publish(&format!("t/{n}"), qos, n, n % 4 == 0), v, 1000);
    }
    script = script
        .op(Op::Advance { tenths: 15 })
        .op(Op::Tick)
        .read(1)
        .op(Op::Open)
        .send(2, &connect(v, "late", true, false), v, 1000)
        .read(2);
    for n in 1..=6 {
        script = script
            .read(0)
            .send(0, &Packet::PubAck(PubResponse::new(id(n))), v, 1000)
            .op(Op::Advance { tenths: 5 })
            .op(Op::Tick);
    }
    script.read(1)
}

/// An embedded broker's host program beside a network client: retained publications at every
/// QoS both ways, a host subscription of capacity 1 that fills while nothing is taken, then
/// takes, a refused topic and filter, and a dropped subscription.
fn host_client() -> Script {
    let v = ProtocolVersion::V3_1_1;
    let mut script = Script::new([0x01, 4, 0, 0])
        .op(Op::Open)
        .send(0, &connect(v, "device", true, false), v, 1000)
        .send(0, &subscribe(1, &[("a/#", QoS::ExactlyOnce)]), v, 1000)
        .read(0)
        // "a/b" at QoS 1, retained; "a/b/c" at QoS 2; "+/bad" is refused by the handle.
        .op(Op::HostPublish {
            topic: 1,
            flags: 5,
            payload: b"21.5",
        })
        .op(Op::HostPublish {
            topic: 2,
            flags: 2,
            payload: b"on",
        })
        .op(Op::HostPublish {
            topic: 6,
            flags: 0,
            payload: b"x",
        })
        .read(0)
        // "a/+" at QoS 1 with capacity 1, and the refused "a/#/x".
        .op(Op::HostSubscribe {
            filter: 2,
            flags: 1,
        })
        .op(Op::HostSubscribe {
            filter: 7,
            flags: 0,
        });
    for n in 1..=4 {
        script = script.send(0, &publish("a/x", QoS::AtLeastOnce, n, false), v, 1000);
    }
    script
        .read(0)
        .op(Op::HostTake {
            subscription: 0,
            count: 2,
        })
        .op(Op::HostTake {
            subscription: 0,
            count: 9,
        })
        .op(Op::HostDrop { subscription: 0 })
        .send(0, &publish("a/y", QoS::AtMostOnce, 0, false), v, 1000)
        .read(0)
}

/// Two clients subscribing, publishing at every QoS, acknowledging, leaving, and one
/// reconnecting to its persistent session, on the configuration `head`.
fn two_clients(version: ProtocolVersion, head: [u8; 4]) -> Script {
    let v = version;
    let ack = |id_value| PubResponse::new(id(id_value));
    Script::new(head)
        .op(Op::Open)
        .op(Op::Open)
        .send(0, &connect(v, "sub", false, false), v, 1000)
        .send(1, &connect(v, "pub", true, true), v, 3)
        .read(0)
        .read(1)
        .send(
            0,
            &subscribe(1, &[("a/+", QoS::ExactlyOnce), ("#", QoS::AtLeastOnce)]),
            v,
            1000,
        )
        .send(0, &subscribe(2, &[("a/#/b", QoS::AtMostOnce)]), v, 1000)
        .read(0)
        .send(1, &publish("a/b", QoS::AtMostOnce, 0, false), v, 1000)
        .send(1, &publish("a/c", QoS::AtLeastOnce, 1, true), v, 1000)
        .send(1, &publish("a/d", QoS::ExactlyOnce, 2, false), v, 4)
        .send(1, &Packet::PubRel(ack(2)), v, 1000)
        .op(Op::Consume { link: 0, amount: 9 })
        .read(0)
        .read(1)
        .send(0, &Packet::PubAck(ack(1)), v, 1000)
        .send(0, &Packet::PubRec(ack(2)), v, 1000)
        .send(0, &Packet::PubComp(ack(2)), v, 1000)
        .send(0, &Packet::PingReq, v, 1000)
        .op(Op::Close { link: 1, loss: 0 })
        .read(0)
        .send(
            0,
            &Packet::Unsubscribe(Unsubscribe {
                packet_id: id(3),
                filters: vec!["#".into()],
                properties: Properties::default(),
            }),
            v,
            1000,
        )
        .send(0, &Packet::Disconnect(Disconnect::default()), v, 1000)
        .read(0)
        .op(Op::Open)
        .send(0, &connect(v, "sub", false, false), v, 1000)
        .read(0)
        .op(Op::Advance { tenths: 80 })
        .op(Op::Tick)
        .read(0)
}
