//! [`Subscription`]: the host program's receiving end of one topic filter.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::Received;
use super::handle::{HandleError, Shared, deadline, release};
use super::queue::{Ended, Queue};
use crate::protocol::QoS;
use crate::topic::TopicFilter;

/// Messages matching one topic filter, for the host program; made by
/// [`BrokerHandle::subscribe`](super::BrokerHandle::subscribe).
///
/// A message taken at QoS 1 or 2 is acknowledged to the broker when the host takes it (with
/// [`Subscription::recv`] and the like), so the broker re-sends nothing and counts it
/// delivered. At most the subscription's capacity waits here; beyond that the broker keeps
/// messages back as it does for a slow network client: QoS 1 and 2 wait in the session's
/// queue (bounded by `max_queued_messages`), QoS 0 is dropped once the backlog passes the
/// output high-water mark. The loop never waits for the host.
///
/// Dropping it (or [`Subscription::unsubscribe`]) ends the subscription.
#[derive(Debug)]
pub struct Subscription {
    filter: TopicFilter,
    queue: Arc<Queue>,
    shared: Arc<Shared>,
}

impl Subscription {
    pub(crate) fn new(filter: TopicFilter, queue: Arc<Queue>, shared: Arc<Shared>) -> Self {
        Subscription {
            filter,
            queue,
            shared,
        }
    }

    /// The topic filter subscribed to.
    pub fn filter(&self) -> &str {
        self.filter.as_str()
    }

    /// Waits until the broker has made the subscription (its SUBACK), so that what is
    /// published from then on arrives here; returns the QoS granted.
    pub fn wait_ready(&self, timeout: Duration) -> Result<QoS, HandleError> {
        let state = self.queue.lock();
        let gone = &self.shared.loop_gone;
        let state = self
            .queue
            .wait_until(state, deadline(Some(timeout)), gone, |s| {
                s.granted.is_some() || s.ended.is_some()
            });
        match (state.granted, state.ended) {
            (Some(qos), _) => Ok(qos),
            (None, Some(ended)) => Err(error_for(ended)),
            (None, None) if gone.load(Ordering::Acquire) => Err(HandleError::Stopped),
            (None, None) => Err(HandleError::TimedOut),
        }
    }

    /// The next message, waiting for it; an error once the subscription has ended (the
    /// broker stopped) and nothing is left.
    pub fn recv(&self) -> Result<Received, HandleError> {
        self.take(None)
    }

    /// The next message, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Received, HandleError> {
        self.take(Some(timeout))
    }

    /// The next message if one is waiting.
    pub fn try_recv(&self) -> Option<Received> {
        self.take(Some(Duration::ZERO)).ok()
    }

    /// The messages as they come, until the subscription ends.
    pub fn iter(&self) -> impl Iterator<Item = Received> + '_ {
        std::iter::from_fn(move || self.recv().ok())
    }

    /// Messages waiting here now.
    pub fn len(&self) -> usize {
        self.queue.lock().messages.len()
    }

    /// No message waits here now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ends the subscription; messages still waiting are dropped (those at QoS 1 and 2 were
    /// never acknowledged, and count as undelivered).
    pub fn unsubscribe(self) {}

    fn take(&self, timeout: Option<Duration>) -> Result<Received, HandleError> {
        let state = self.queue.lock();
        let gone = &self.shared.loop_gone;
        let mut state = self.queue.wait_until(state, deadline(timeout), gone, |s| {
            !s.messages.is_empty() || s.ended.is_some()
        });
        let was_full = state.messages.len() >= self.queue.capacity;
        let Some(delivery) = state.messages.pop_front() else {
            return Err(match state.ended {
                Some(ended) => error_for(ended),
                None if gone.load(Ordering::Acquire) => HandleError::Stopped,
                None => HandleError::TimedOut,
            });
        };
        let acknowledge = delivery.packet_id.map(|id| (id, delivery.message.qos));
        if let Some(taken) = acknowledge {
            state.taken.push(taken);
        }
        let wake = acknowledge.is_some() || was_full;
        drop(state);
        if wake {
            self.shared.wake();
        }
        Ok(delivery.message)
    }
}

fn error_for(ended: Ended) -> HandleError {
    match ended {
        Ended::Stopped | Ended::Lost => HandleError::Stopped,
        Ended::Refused(reason) => HandleError::Refused(reason),
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        release(&self.queue, &self.shared);
    }
}
