//! Whether the reactor may read a link now: the memory budget pauses links that publish during
//! an episode (see `memory`), and the publish rate limits hold a client that went over its
//! rate until its bucket refills (see `rate`). Both stop the router taking the rest of a read
//! at the PUBLISH that decided it, so the reactor keeps those bytes and hands them back when
//! the link is read again ([`Router::take_resumed`]).

use std::time::Instant;

use super::link::Link;
use super::listeners::Peer;
use super::rate::PublishRate;
use super::{LinkId, Ready, Router};
use crate::config::Config;

impl Router {
    /// Whether the reactor may read `link` now. A link refused here is handed back by
    /// [`Router::take_resumed`] once it may be read again.
    pub fn may_read(&mut self, id: LinkId) -> bool {
        let pausing = self.memory.budget.pausing_publishers();
        let Some(link) = self.live(id).and_then(|key| self.links.get_mut(key)) else {
            return true;
        };
        if link.paused_for_memory || link.held_until().is_some() {
            return false;
        }
        if pausing && link.published {
            link.paused_for_memory = true;
            let token = link.token;
            self.memory.paused.push(Ready { token, link: id });
            return false;
        }
        true
    }

    /// Whether a bridge's remote end may be read now. A bridge acknowledges upstream what its
    /// local side takes and cannot pass a refusal on, so instead of refusing its messages the
    /// broker leaves them with the upstream broker: it does not read the bridge while
    /// publishers are paused, nor at the limit, where a client's QoS 1/2 PUBLISH would be
    /// refused. What a bridge takes beyond the limit is then at most one read.
    pub fn bridge_may_read(&self) -> bool {
        let budget = &self.memory.budget;
        !budget.in_force() || !(budget.pausing_publishers() || budget.at_limit(self.memory_used()))
    }

    /// Links paused earlier that may be read again; the reactor reads them without waiting
    /// for an event, since what arrived meanwhile raised none it acted on.
    pub fn take_resumed(&mut self, out: &mut Vec<Ready>) {
        out.append(&mut self.read_again);
    }

    /// Whether a memory budget or a publish rate is set: without either, nothing after a
    /// PUBLISH needs looking at, which keeps the publish path as short as it was.
    #[inline]
    pub(super) fn reads_may_be_held(&self) -> bool {
        self.memory.budget.limit() > 0
            || self.config.publish_rate.is_some()
            || self.config.publish_byte_rate.is_some()
    }

    /// After a PUBLISH of `payload` bytes from the link at `key`: whether the rest of what was
    /// read is to wait, for the memory budget or the link's rate.
    #[inline(never)]
    pub(super) fn after_publish(&mut self, key: usize, payload: usize) -> bool {
        let held = if self.config.publish_rate.is_some() || self.config.publish_byte_rate.is_some()
        {
            self.take_publish_rate(key, payload)
        } else {
            // Held under limits a reload has since removed, until the hold ends. Every hold has
            // its deadline queued, so with none queued no link is held.
            !self.rate_deadlines.is_empty()
                && (self.links.get(key)).is_some_and(|link| link.held_until().is_some())
        };
        if self.memory.budget.limit() > 0 {
            self.assess_memory();
        }
        if !held && self.memory.budget.pausing_publishers() {
            return self.links.get(key).is_some_and(|link| link.published);
        }
        held
    }

    /// Counts one PUBLISH against the link's buckets; a link over its rate is held until they
    /// have refilled. The broker's own in-process links have no rate. Returns whether the link
    /// is held.
    fn take_publish_rate(&mut self, key: usize, payload: usize) -> bool {
        let now = self.now;
        let Some(link) = self.links.get_mut(key) else {
            return false;
        };
        if matches!(link.peer, Peer::Bridge(_) | Peer::Host) {
            return false;
        }
        let checked = (link.extras.as_ref())
            .and_then(|extras| extras.rate.as_ref())
            .is_some_and(|rate| rate.checked_at_reload == self.reloads);
        if !checked {
            follow_limits(link, &self.config, self.reloads, now);
        }
        let Some(rate) = link.extras.as_mut().and_then(|extras| extras.rate.as_mut()) else {
            return false;
        };
        let Some(until) = rate.take(payload, now) else {
            return rate.held_until.is_some();
        };
        rate.held_until = Some(until);
        let id = LinkId::new(key, link.generation);
        self.rate_deadlines.push(until, id);
        self.counters.clients_slowed += 1;
        true
    }

    /// Links whose rate hold ended by `now` go back to being read.
    pub(super) fn end_rate_holds(&mut self, now: Instant) {
        while let Some(id) = self.rate_deadlines.pop_due(now) {
            let Some(link) = self.live(id).and_then(|key| self.links.get_mut(key)) else {
                continue;
            };
            if let Some(rate) = link.extras.as_mut().and_then(|extras| extras.rate.as_mut())
                && rate.held_until.is_some_and(|until| until <= now)
            {
                rate.held_until = None;
                self.read_again.push(Ready {
                    token: link.token,
                    link: id,
                });
            }
        }
    }
}

/// Gives `link` buckets for the limits in `config`, made afresh if it has none or has them for
/// other limits (a reload changed them), and notes them checked at reload `reloads`.
#[cold]
fn follow_limits(link: &mut Link, config: &Config, reloads: u64, now: Instant) {
    let (messages, bytes) = (config.publish_rate, config.publish_byte_rate);
    let rate = match &mut link.extras_mut().rate {
        Some(rate) if rate.follows(messages, bytes) => rate,
        rate => rate.insert(Box::new(PublishRate::new(messages, bytes, now))),
    };
    rate.checked_at_reload = reloads;
}
