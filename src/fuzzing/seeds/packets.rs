//! The packets the `session` scripts and the `ws_frames` seeds are built from.

use crate::protocol::{
    Connect, Packet, PacketId, Properties, ProtocolVersion, Publish, QoS, Subscribe,
    SubscriptionOptions, SubscriptionRequest, Will,
};

pub(super) fn id(value: u16) -> PacketId {
    PacketId::new(value).unwrap_or(PacketId(std::num::NonZeroU16::MIN))
}

pub(super) fn connect(
    version: ProtocolVersion,
    client_id: &str,
    clean: bool,
    will: bool,
) -> Packet {
    Packet::Connect(Box::new(Connect {
        protocol: version,
        clean_start: clean,
        keep_alive: 5,
        client_id: client_id.into(),
        will: will.then(|| Will {
            topic: format!("status/{client_id}").into(),
            payload: b"offline"[..].into(),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: Properties::default(),
        }),
        username: None,
        password: None,
        properties: Properties::default(),
    }))
}

pub(super) fn subscribe(packet_id: u16, filters: &[(&str, QoS)]) -> Packet {
    Packet::Subscribe(Subscribe {
        packet_id: id(packet_id),
        filters: filters
            .iter()
            .map(|&(filter, qos)| SubscriptionRequest {
                filter: filter.into(),
                options: SubscriptionOptions {
                    qos,
                    ..SubscriptionOptions::default()
                },
            })
            .collect(),
        properties: Properties::default(),
    })
}

pub(super) fn publish(topic: &str, qos: QoS, packet_id: u16, retain: bool) -> Packet {
    Packet::Publish(Publish {
        dup: false,
        qos,
        retain,
        topic: topic.into(),
        packet_id: (qos != QoS::AtMostOnce).then(|| id(packet_id)),
        properties: Properties::default(),
        payload: b"payload"[..].into(),
    })
}
