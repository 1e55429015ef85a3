//! Going back to the primary address: while a bridge without `round_robin` is connected to a
//! secondary address, a TCP connect to the primary is tried every [`PROBE_EVERY`], and the
//! bridge moves back as soon as one succeeds (mosquitto's behaviour).

use std::io;
use std::time::{Duration, Instant};

use super::Outgoing;
use super::setup::{connect_to, resolve};

/// How often the primary address is tried while connected to a secondary one (mosquitto's
/// interval).
pub(super) const PROBE_EVERY: Duration = Duration::from_secs(5);
/// How often a probe's connect is looked at; it is not registered with the poll.
const PROBE_POLL: Duration = Duration::from_millis(100);

impl Outgoing {
    /// While on a secondary address, a connect to the primary every [`PROBE_EVERY`]; once one
    /// succeeds the bridge goes back to it. Returns when to look again.
    pub(super) fn probe_primary(&mut self, now: Instant) -> Option<Instant> {
        if !self.core.probing_primary() {
            self.probe = None;
            self.next_probe = None;
            return None;
        }
        if let Some((stream, started)) = &self.probe {
            let answered = match stream.take_error() {
                Ok(None) => match stream.peer_addr() {
                    Ok(_) => Some(true),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => None,
                    Err(_) => Some(false),
                },
                _ => Some(false),
            };
            match answered {
                Some(true) => {
                    self.probe = None;
                    self.core.primary_is_back();
                    return Some(now);
                }
                None if now < *started + PROBE_EVERY => return Some(now + PROBE_POLL),
                _ => self.probe = None,
            }
        }
        let due = *self.next_probe.get_or_insert(now + PROBE_EVERY);
        if now < due {
            return Some(due);
        }
        self.next_probe = Some(now + PROBE_EVERY);
        let primary = self.core.settings().addresses.first().cloned();
        let bind = self.core.settings().bind_address.clone();
        let target = primary.and_then(|p| resolve(&p).ok()?.first().copied());
        if let Some(target) = target
            && let Ok(stream) = connect_to(target, bind.as_deref())
        {
            self.probe = Some((stream, now));
            return Some(now + PROBE_POLL);
        }
        self.next_probe
    }
}
