//! How much of the store file is dead: records that a snapshot would no longer write. The
//! store is compacted when the dead part outgrows the live part, so the file stays within
//! twice its live data (plus an allowance) without rewriting a queue that only grows.
//!
//! The router does not say which record a removal kills, so its size is estimated: the mean
//! size of the records that hold something (message bodies included), except for a replaced
//! retained message, whose size is known.

use crate::router::Message;
use crate::router::persist::Change;

/// The file may be this much larger than twice its live data before it is compacted.
pub const ALLOWANCE: u64 = 1024 * 1024;
/// Compacts anyway once the file is this multiple of its last snapshot, in case the estimate
/// of dead bytes falls short (removals of records larger than the mean).
pub const GROWTH_BOUND: u64 = 8;
/// Record framing and the fixed fields of a message record, for a replaced message's size.
const MESSAGE_OVERHEAD: u64 = 40;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Liveness {
    /// Estimated bytes of dead records in the file.
    dead: u64,
    /// Records that hold something (a queued or in-flight message, a subscription, a retained
    /// message, a session), and their bytes with the message bodies they wrote.
    holders: u64,
    holder_bytes: u64,
}

impl Liveness {
    /// A fresh snapshot of `len` bytes: nothing in it is dead.
    pub fn snapshot(&mut self, len: u64, holders: u64) {
        self.dead = 0;
        self.holders = holders;
        self.holder_bytes = len;
    }

    pub fn dead(&self) -> u64 {
        self.dead
    }

    /// Accounts for `change`, which was encoded into `written` bytes.
    pub fn record(&mut self, change: &Change, written: u64) {
        match change {
            Change::Retained { replaced, .. } => {
                self.hold(written);
                if let Some(old) = replaced {
                    self.dead += message_size(old);
                }
            }
            Change::RetainedCleared { cleared, .. } => {
                self.dead += written + cleared.as_ref().map_or(0, |old| message_size(old));
            }
            // A session record replaces the previous one of the same session, of about its size.
            Change::Session(_) => {
                self.hold(written);
                self.dead += written;
            }
            Change::SessionEnded { held, .. } => {
                self.dead += written + self.mean_holder() * (*held as u64 + 1);
            }
            Change::Subscribed { .. }
            | Change::Queued { .. }
            | Change::InFlight { .. }
            | Change::Inbound { .. } => self.hold(written),
            // A released QoS 2 message keeps its place in flight, without its message.
            Change::Released { .. } => self.dead += self.mean_holder().saturating_sub(written),
            Change::Unsubscribed { .. }
            | Change::Unqueued { .. }
            | Change::Landed { .. }
            | Change::InboundDone { .. } => self.dead += written + self.mean_holder(),
        }
    }

    /// Whether a file of `len` bytes, `snapshot_len` of them from its last snapshot, is due for
    /// compaction.
    pub fn wants_compaction(&self, len: u64, snapshot_len: u64) -> bool {
        let dead = self.dead.min(len);
        let live = len - dead;
        dead > live + ALLOWANCE || len > snapshot_len * GROWTH_BOUND + ALLOWANCE
    }

    fn hold(&mut self, written: u64) {
        self.holders += 1;
        self.holder_bytes += written;
    }

    fn mean_holder(&self) -> u64 {
        self.holder_bytes.checked_div(self.holders).unwrap_or(0)
    }
}

fn message_size(message: &Message) -> u64 {
    (message.topic.len() + message.payload.len()) as u64 + MESSAGE_OVERHEAD
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Properties, QoS};
    use crate::router::Queued;
    use std::sync::Arc;
    use std::time::Instant;

    fn message(payload: &str) -> Arc<Message> {
        let publish = crate::protocol::Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: true,
            topic: Arc::from("Ergeschoss/Wohnzimmer/Temp"),
            packet_id: None,
            properties: Properties::default(),
            payload: Arc::from(payload.as_bytes()),
        };
        Arc::new(Message::from_publish(publish, Instant::now()))
    }

    fn queued(entry: u64) -> Change {
        Change::Queued {
            session: 1,
            item: Queued {
                message: message("21.5"),
                qos: QoS::AtLeastOnce,
                retain: false,
                subscription_ids: Vec::new(),
                shared_group: None,
                entry,
            },
        }
    }

    #[test]
    fn a_growing_queue_is_all_live() {
        let mut liveness = Liveness::default();
        liveness.snapshot(8, 0);
        let mut len = 8;
        for entry in 1..=100_000 {
            liveness.record(&queued(entry), 120);
            len += 120;
        }
        assert_eq!(liveness.dead(), 0);
        // 12 MB of queue is not rewritten, only bounded against its last snapshot.
        assert!(!liveness.wants_compaction(len, 8 * 1024 * 1024));
        assert!(liveness.wants_compaction(len, 1024));
    }

    #[test]
    fn a_drained_queue_is_all_dead() {
        let mut liveness = Liveness::default();
        liveness.snapshot(8, 0);
        let mut len = 8;
        for entry in 1..=20_000 {
            liveness.record(&queued(entry), 100);
            liveness.record(&Change::Unqueued { session: 1, entry }, 20);
            len += 120;
        }
        // Each removal counts the mean holder, which includes the snapshot's header.
        assert!(liveness.dead() >= len - 8);
        assert!(liveness.wants_compaction(len, 8));
    }

    #[test]
    fn replaced_retained_messages_count_their_old_size() {
        let mut liveness = Liveness::default();
        liveness.snapshot(8, 0);
        let first = message("21.5");
        liveness.record(
            &Change::Retained {
                message: Arc::clone(&first),
                replaced: None,
                source: None,
            },
            70,
        );
        assert_eq!(liveness.dead(), 0);
        liveness.record(
            &Change::Retained {
                message: message("21.6"),
                replaced: Some(first),
                source: None,
            },
            70,
        );
        assert_eq!(liveness.dead(), 26 + 4 + MESSAGE_OVERHEAD);
    }

    #[test]
    fn an_ended_session_kills_what_it_held() {
        let mut liveness = Liveness::default();
        liveness.snapshot(1000, 10);
        liveness.record(
            &Change::SessionEnded {
                session: 1,
                held: 9,
            },
            12,
        );
        assert_eq!(liveness.dead(), 12 + 1000);
    }

    #[test]
    fn the_file_stays_within_twice_its_live_data() {
        let liveness = Liveness {
            dead: 3 * ALLOWANCE,
            holders: 1,
            holder_bytes: 1,
        };
        // 3 MiB dead against 3 MiB live: not yet; 3 MiB dead against 1.9 MiB live: due.
        assert!(!liveness.wants_compaction(6 * ALLOWANCE, 6 * ALLOWANCE));
        assert!(liveness.wants_compaction(5 * ALLOWANCE - 1, 5 * ALLOWANCE));
    }
}
