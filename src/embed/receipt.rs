//! What the host learns of one publication: accepted by the broker (and, with persistence on,
//! in the store), or refused with a reason.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::HandleError;

#[derive(Debug, Default)]
struct Slot {
    outcome: Mutex<Option<Result<(), HandleError>>>,
    done: Condvar,
}

/// The outcome of a publication made with
/// [`BrokerHandle::publish_with_receipt`](super::BrokerHandle::publish_with_receipt).
///
/// At QoS 1 and 2 it resolves when the broker has done what a PUBACK (PUBREC) promises a
/// network client: the message is routed, and with persistence on, what must survive a crash
/// is written (and synced, with `persistence_sync batch`). At QoS 0 it resolves once the
/// message is routed.
#[derive(Debug, Clone)]
pub struct PublishReceipt {
    slot: Arc<Slot>,
}

/// The loop's end of a receipt. Dropped unresolved (the broker stopped first), it resolves
/// the receipt with [`HandleError::Stopped`], so no host waits for ever.
#[derive(Debug)]
pub(crate) struct Resolver {
    slot: Arc<Slot>,
}

pub(crate) fn receipt() -> (PublishReceipt, Resolver) {
    let slot = Arc::new(Slot::default());
    (
        PublishReceipt {
            slot: Arc::clone(&slot),
        },
        Resolver { slot },
    )
}

impl Resolver {
    pub(crate) fn resolve(self, outcome: Result<(), HandleError>) {
        self.set(outcome);
    }

    fn set(&self, outcome: Result<(), HandleError>) {
        let mut slot = (self.slot.outcome.lock()).unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(outcome);
            self.slot.done.notify_all();
        }
    }
}

impl Drop for Resolver {
    fn drop(&mut self) {
        self.set(Err(HandleError::Stopped));
    }
}

impl PublishReceipt {
    /// The outcome, if it is known yet; never waits.
    pub fn try_outcome(&self) -> Option<Result<(), HandleError>> {
        let slot = (self.slot.outcome.lock()).unwrap_or_else(PoisonError::into_inner);
        slot.clone()
    }

    /// Waits for the outcome. Not to be called on the thread that runs the broker's loop
    /// (a hook, or a host driving [`BrokerLoop::poll_once`](crate::BrokerLoop::poll_once)),
    /// whose turn it would wait for: use [`PublishReceipt::try_outcome`] there.
    pub fn wait(&self) -> Result<(), HandleError> {
        self.wait_until(None).unwrap_or(Err(HandleError::TimedOut))
    }

    /// Waits at most `timeout`; [`HandleError::TimedOut`] if the outcome is not known by then.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<(), HandleError> {
        self.wait_until(Some(Instant::now() + timeout))
            .unwrap_or(Err(HandleError::TimedOut))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> Option<Result<(), HandleError>> {
        let mut slot = (self.slot.outcome.lock()).unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(outcome) = slot.as_ref() {
                return Some(outcome.clone());
            }
            slot = match deadline {
                None => (self.slot.done.wait(slot)).unwrap_or_else(PoisonError::into_inner),
                Some(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    (self.slot.done.wait_timeout(slot, left))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }
}
