//! The queue between the broker's loop and one host subscription: the loop pushes the messages
//! it took from the subscription's link, the host takes them; what the host took at QoS 1 or 2
//! goes back to the loop as acknowledgements to send.
//!
//! Bounded, and the loop never waits on it: when it is full the loop leaves the messages with
//! the router, which then treats the subscription as it treats a slow TCP client (QoS 1 and 2
//! wait in the session's queue, QoS 0 past the output high-water mark is dropped).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::protocol::{PacketId, QoS, ReasonCode};

use super::Received;

/// How often a waiting host looks whether the loop is gone.
const GONE_CHECK: Duration = Duration::from_millis(100);

/// Why a subscription stopped delivering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ended {
    /// The broker stopped.
    Stopped,
    /// The broker refused the subscription, with this reason code (SUBACK).
    Refused(ReasonCode),
    /// The broker ended the subscription's in-process link (a bug worth reporting; the log
    /// says why).
    Lost,
}

/// The subscription's state, shared by the loop and the host under one lock.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) messages: VecDeque<Delivery>,
    /// Packet ids of QoS 1 and 2 messages the host took, for the loop to acknowledge.
    pub(crate) taken: Vec<(PacketId, QoS)>,
    /// The granted QoS, once the SUBACK came back.
    pub(crate) granted: Option<QoS>,
    pub(crate) ended: Option<Ended>,
    /// The host dropped or unsubscribed the subscription.
    pub(crate) dropped: bool,
}

/// A message and how to acknowledge it.
#[derive(Debug)]
pub(crate) struct Delivery {
    pub(crate) message: Received,
    pub(crate) packet_id: Option<PacketId>,
}

#[derive(Debug)]
pub(crate) struct Queue {
    state: Mutex<State>,
    changed: Condvar,
    /// At most this many messages wait for the host.
    pub(crate) capacity: usize,
}

impl Queue {
    pub(crate) fn new(capacity: usize) -> Queue {
        Queue {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    /// The state; a panic of another thread while it held the lock leaves nothing half done
    /// (every change is a push, a pop or a flag), so a poisoned lock is used as it is.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn notify(&self) {
        self.changed.notify_all();
    }

    /// Waits until `ready` holds of the state, `deadline` passes (`None`: no deadline), or the
    /// loop is `gone`. The loop ends every queue it knows of when it goes; `gone` covers a
    /// request it never saw, looked at every [`GONE_CHECK`].
    pub(crate) fn wait_until<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        deadline: Option<Instant>,
        gone: &AtomicBool,
        ready: impl Fn(&State) -> bool,
    ) -> MutexGuard<'a, State> {
        while !ready(&state) && !gone.load(Ordering::Acquire) {
            let left = deadline.map(|at| at.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                return state;
            }
            let wait = left.map_or(GONE_CHECK, |left| left.min(GONE_CHECK));
            state = self
                .changed
                .wait_timeout(state, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state
    }
}
