//! The QoS 1 and 2 flows a bridge runs between its two sides, by packet id.
//!
//! Going out, the local broker delivers to the bridge with its own packet id `L`, and the
//! bridge publishes to the remote end with one of its own, `R`. The local delivery is
//! acknowledged only when the remote end has taken the message (PUBACK, or PUBREC for QoS 2),
//! so a message is never lost between the brokers: until then the local session keeps it and
//! re-sends it after a reconnect, and the bridge re-sends it remotely with the same `R` and DUP
//! while the remote session lasts.
//!
//! Coming in, the remote end's id `R` is mapped to a local id the bridge chooses, and the
//! remote end is answered when the local broker has answered.

use std::collections::HashSet;

use crate::protocol::{PacketId, QoS};

/// One message going out, sent to the remote end and not yet acknowledged there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OutFlight {
    /// The local delivery's id; `None` once the local side was answered (QoS 2 after PUBREC).
    local: Option<PacketId>,
    remote: PacketId,
    qos: QoS,
}

/// One message coming in, handed to the local broker and not yet answered by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct InFlight {
    local: PacketId,
    remote: PacketId,
}

/// What a remote PUBREC asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// PUBREL to the remote end, and PUBREC with this id to the local broker (if any).
    Release(Option<PacketId>),
    /// An id the bridge does not know: PUBREL anyway, so the remote end can finish.
    Unknown,
}

#[derive(Debug, Default)]
pub struct Flows {
    out: Vec<OutFlight>,
    inbound: Vec<InFlight>,
    /// Remote QoS 2 ids answered with PUBREC and awaiting PUBREL: a re-sent PUBLISH with one
    /// of them is not forwarded again [MQTT-4.3.3-2].
    remote_qos2: HashSet<u16>,
    next_remote: u16,
    next_local: u16,
}

impl Flows {
    /// The remote id for a local delivery: the one it already has when the local broker
    /// re-sends it (DUP), else a new one. `None` only if all 65,535 ids are in use.
    pub fn send(&mut self, local: PacketId, qos: QoS) -> Option<(PacketId, bool)> {
        if let Some(flight) = self.out.iter().find(|f| f.local == Some(local)) {
            return Some((flight.remote, true));
        }
        let remote = next_free(&mut self.next_remote, |id| {
            self.out.iter().any(|f| f.remote == id)
        })?;
        self.out.push(OutFlight {
            local: Some(local),
            remote,
            qos,
        });
        Some((remote, false))
    }

    /// PUBACK from the remote end: the local id to acknowledge.
    pub fn acked(&mut self, remote: PacketId) -> Option<PacketId> {
        let at = self
            .out
            .iter()
            .position(|f| f.remote == remote && f.qos == QoS::AtLeastOnce)?;
        self.out.swap_remove(at).local
    }

    /// PUBREC from the remote end. A failure code ends the flow there (MQTT 5 section 4.3.3).
    pub fn received(&mut self, remote: PacketId, failed: bool) -> Received {
        let Some(at) = self
            .out
            .iter()
            .position(|f| f.remote == remote && f.qos == QoS::ExactlyOnce)
        else {
            return Received::Unknown;
        };
        if failed {
            return Received::Release(self.out.swap_remove(at).local);
        }
        let local = self.out.get_mut(at).and_then(|f| f.local.take());
        Received::Release(local)
    }

    /// PUBCOMP from the remote end.
    pub fn completed(&mut self, remote: PacketId) {
        self.out
            .retain(|f| !(f.remote == remote && f.qos == QoS::ExactlyOnce && f.local.is_none()));
    }

    /// The QoS 2 ids released remotely and awaiting PUBCOMP, to send PUBREL again after a
    /// reconnect that kept the remote session.
    pub fn released(&self) -> impl Iterator<Item = PacketId> + '_ {
        self.out
            .iter()
            .filter(|f| f.local.is_none() && f.qos == QoS::ExactlyOnce)
            .map(|f| f.remote)
    }

    /// An id for a QoS 1 message of the bridge's own (its state topic), kept until PUBACK.
    pub fn own_publish_id(&mut self) -> Option<PacketId> {
        let remote = self.free_id()?;
        self.out.push(OutFlight {
            local: None,
            remote,
            qos: QoS::AtLeastOnce,
        });
        Some(remote)
    }

    /// An id no outgoing message uses, for a SUBSCRIBE.
    pub fn free_id(&mut self) -> Option<PacketId> {
        next_free(&mut self.next_remote, |id| {
            self.out.iter().any(|f| f.remote == id)
        })
    }

    /// Messages in flight to the remote end.
    #[cfg(test)]
    pub fn outgoing(&self) -> usize {
        self.out.len()
    }

    /// A new id for a message going to the local broker, remembering the remote one.
    pub fn hand_in(&mut self, remote: PacketId) -> Option<PacketId> {
        let local = next_free(&mut self.next_local, |id| {
            self.inbound.iter().any(|f| f.local == id)
        })?;
        self.inbound.push(InFlight { local, remote });
        Some(local)
    }

    /// The local broker answered a message handed in (PUBACK, or PUBREC for QoS 2): the remote
    /// id to answer.
    pub fn answered(&mut self, local: PacketId) -> Option<PacketId> {
        let at = self.inbound.iter().position(|f| f.local == local)?;
        Some(self.inbound.swap_remove(at).remote)
    }

    /// Whether a remote QoS 2 PUBLISH with this id was already taken (a re-send).
    pub fn remote_qos2_pending(&self, remote: PacketId) -> bool {
        self.remote_qos2.contains(&remote.get())
    }

    pub fn remote_qos2_received(&mut self, remote: PacketId) {
        self.remote_qos2.insert(remote.get());
    }

    /// PUBREL from the remote end.
    pub fn remote_qos2_released(&mut self, remote: PacketId) {
        self.remote_qos2.remove(&remote.get());
    }

    /// The connection ended. Messages handed in were answered by the local broker at once, so
    /// nothing of them is kept. Without the remote session (`keep_remote` false) the remote
    /// ids mean nothing any more; the local broker re-sends what it has not had acknowledged.
    pub fn connection_ended(&mut self, keep_remote: bool) {
        self.inbound.clear();
        if !keep_remote {
            self.out.clear();
            self.remote_qos2.clear();
        }
    }

    /// The local session was not resumed: its deliveries are gone, so the remote flows still
    /// waiting for them end too (those already released remotely just await PUBCOMP).
    pub fn local_session_lost(&mut self) {
        self.out.retain(|f| f.local.is_none());
    }
}

/// The next id after `counter` that `used` does not claim.
fn next_free(counter: &mut u16, used: impl Fn(PacketId) -> bool) -> Option<PacketId> {
    for _ in 0..=u16::MAX {
        *counter = counter.wrapping_add(1);
        if let Some(id) = PacketId::new(*counter)
            && !used(id)
        {
            return Some(id);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u16) -> PacketId {
        PacketId::new(n).unwrap()
    }

    #[test]
    fn qos1_out_is_acknowledged_locally_when_the_remote_end_acknowledges() {
        let mut flows = Flows::default();
        let (r, dup) = flows.send(id(7), QoS::AtLeastOnce).unwrap();
        assert!(!dup);
        // The local broker re-sends after a reconnect: same remote id, DUP.
        assert_eq!(flows.send(id(7), QoS::AtLeastOnce), Some((r, true)));
        assert_eq!(flows.acked(r), Some(id(7)));
        assert_eq!(flows.acked(r), None);
        assert_eq!(flows.outgoing(), 0);
    }

    #[test]
    fn qos2_out_answers_locally_at_pubrec_and_waits_for_pubcomp() {
        let mut flows = Flows::default();
        let (r, _) = flows.send(id(1), QoS::ExactlyOnce).unwrap();
        assert_eq!(flows.received(r, false), Received::Release(Some(id(1))));
        assert_eq!(flows.released().collect::<Vec<_>>(), [r]);
        // A second PUBREC (after a reconnect) releases again but has no local side left.
        assert_eq!(flows.received(r, false), Received::Release(None));
        flows.local_session_lost();
        assert_eq!(
            flows.outgoing(),
            1,
            "released flows survive the local session"
        );
        flows.completed(r);
        assert_eq!(flows.outgoing(), 0);
        assert_eq!(flows.received(id(99), false), Received::Unknown);
    }

    #[test]
    fn ids_in_flight_are_not_reused() {
        let mut flows = Flows::default();
        let (a, _) = flows.send(id(1), QoS::AtLeastOnce).unwrap();
        let (b, _) = flows.send(id(2), QoS::AtLeastOnce).unwrap();
        assert_ne!(a, b);
        flows.next_remote = a.get() - 1;
        let (c, _) = flows.send(id(3), QoS::AtLeastOnce).unwrap();
        assert!(c != a && c != b);
    }

    #[test]
    fn incoming_ids_map_back_and_qos2_resends_are_recognised() {
        let mut flows = Flows::default();
        let local = flows.hand_in(id(40)).unwrap();
        assert_eq!(flows.answered(local), Some(id(40)));
        assert_eq!(flows.answered(local), None);
        flows.remote_qos2_received(id(41));
        assert!(flows.remote_qos2_pending(id(41)));
        flows.connection_ended(true);
        assert!(
            flows.remote_qos2_pending(id(41)),
            "kept with the remote session"
        );
        flows.remote_qos2_released(id(41));
        assert!(!flows.remote_qos2_pending(id(41)));
        flows.send(id(5), QoS::AtLeastOnce).unwrap();
        flows.connection_ended(false);
        assert_eq!(flows.outgoing(), 0);
    }
}
