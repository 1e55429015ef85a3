//! The loop's side of the host program's requests: an in-process MQTT 5 client of the router,
//! as a bridge's local side is one, on links with a [`Peer::Host`](crate::router::Peer) address
//! and no listener (so no password check, ACL or hook applies to the host program, which owns
//! the broker).
//!
//! One link publishes everything the host publishes ([`Publisher`]); each subscription has a
//! link of its own ([`HostSubscription`]) whose in-flight window is the smaller of its capacity
//! and `max_inflight_messages`, so a host that does not take its messages is, to the router,
//! one slow client among others.
//!
//! No socket, clock or thread here: the reactor hands in the router and the time, and the
//! `session` fuzz target can drive it the same way.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::time::Instant;

use super::command::{Command, SubscribeRequest};
use super::handle::{Shared, end};
use super::host_subscription::{HostSubscription, Pumped};
use super::link::open;
use super::publisher::Publisher;
use super::queue::Ended;
use crate::config::Config;
use crate::router::{Router, Stats};

/// Requests taken per loop turn, so a host publishing flat out still leaves the sockets
/// their turn; the rest wait for the next turn, which then does not block.
const COMMANDS_PER_TURN: usize = 4096;

/// What the loop must do itself: requests about the whole broker.
pub(crate) enum LoopRequest {
    Stats(SyncSender<Stats>),
    Reload {
        config: Option<Box<Config>>,
        done: SyncSender<()>,
    },
}

/// The host program's in-process client.
pub(crate) struct Host {
    commands: Receiver<Command>,
    shared: Arc<Shared>,
    /// The value `Ready` carries for every host link.
    token: usize,
    publisher: Option<Publisher>,
    subscriptions: Vec<HostSubscription>,
    /// Requests, or deliveries a queue has room for, were left for the next turn.
    more: bool,
    /// The host woke the loop since the last pump: it may have taken messages.
    woken: bool,
}

impl Host {
    pub(crate) fn new(commands: Receiver<Command>, shared: Arc<Shared>, token: usize) -> Host {
        Host {
            commands,
            shared,
            token,
            publisher: None,
            subscriptions: Vec::new(),
            more: false,
            woken: false,
        }
    }

    /// The host's links open in the router, for the `session` fuzz target's accounting.
    pub(crate) fn link_count(&self) -> usize {
        usize::from(self.publisher.is_some()) + self.subscriptions.len()
    }

    /// Whether a turn must follow at once (requests or deliveries left over).
    pub(crate) fn wants_turn(&self) -> bool {
        self.more
    }

    /// Takes the host's requests: publications and subscriptions go to the router now; what
    /// concerns the whole broker is handed back to the loop.
    pub(crate) fn take_commands(&mut self, router: &mut Router, now: Instant) -> Vec<LoopRequest> {
        self.shared.wake_pending.store(false, Ordering::Release);
        self.woken = true;
        self.more = false;
        let mut requests = Vec::new();
        for _ in 0..COMMANDS_PER_TURN {
            match self.commands.try_recv() {
                Ok(Command::Publish {
                    publication,
                    receipt,
                }) => self
                    .publisher(router, now)
                    .publish(router, *publication, receipt, now),
                Ok(Command::Subscribe(request)) => {
                    let SubscribeRequest {
                        id,
                        filter,
                        options,
                        queue,
                    } = *request;
                    let window = u16::try_from(queue.capacity).unwrap_or(u16::MAX);
                    let link = open(router, self.token, &format!("sub-{id}"), window, now);
                    let mut subscription = HostSubscription::new(link, filter, queue);
                    subscription.subscribe(router, options, now);
                    self.subscriptions.push(subscription);
                }
                Ok(Command::Stats(reply)) => requests.push(LoopRequest::Stats(reply)),
                Ok(Command::Reload { config, done }) => {
                    requests.push(LoopRequest::Reload { config, done });
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return requests,
            }
        }
        self.more = true;
        requests
    }

    /// The publishing link, opened again if the router closed it.
    fn publisher(&mut self, router: &mut Router, now: Instant) -> &mut Publisher {
        let open = self.publisher.as_ref().is_some_and(|p| p.is_open(router));
        if !open && let Some(closed) = self.publisher.take() {
            closed.close(router, now);
        }
        self.publisher
            .get_or_insert_with(|| Publisher::open(router, self.token, now))
    }

    /// After the store's commit: the receipts of this turn, the subscriptions' messages into
    /// their queues, the host's acknowledgements to the router, and the subscriptions the host
    /// dropped ended.
    pub(crate) fn pump(&mut self, router: &mut Router, now: Instant) {
        let woken = std::mem::take(&mut self.woken);
        if let Some(publisher) = self.publisher.as_mut() {
            publisher.resolve();
        }
        let mut index = 0;
        while let Some(subscription) = self.subscriptions.get_mut(index) {
            let link = subscription.link;
            let pumped = if woken || !router.output(link).is_empty() || router.wants_close(link) {
                subscription.pump(router, now)
            } else {
                Pumped::Done
            };
            match pumped {
                Pumped::Ended => {
                    self.subscriptions.swap_remove(index);
                }
                Pumped::More => {
                    self.more = true;
                    index += 1;
                }
                Pumped::Done => index += 1,
            }
        }
    }

    /// The broker is stopping, after the store's last commit: every receipt is resolved, every
    /// subscription ends, and the host's links close.
    pub(crate) fn shut_down(&mut self, router: &mut Router, now: Instant) {
        if let Some(publisher) = self.publisher.take() {
            publisher.close(router, now);
        }
        for subscription in self.subscriptions.drain(..) {
            subscription.close(router, now);
        }
        self.discard_requests();
    }

    /// Requests still queued: their receipts and replies report the stop when dropped, and a
    /// subscription that was never made is ended so its receiver does not wait for ever.
    fn discard_requests(&mut self) {
        while let Ok(command) = self.commands.try_recv() {
            if let Command::Subscribe(request) = command {
                end(&request.queue, Ended::Stopped);
            }
        }
    }
}

impl Drop for Host {
    /// However the loop ends (a stop, an error, a panic), no host thread waits for ever: the
    /// handle's waits see the loop gone, and every subscription ends.
    fn drop(&mut self) {
        self.shared.loop_gone.store(true, Ordering::Release);
        for subscription in &self.subscriptions {
            end(&subscription.queue, Ended::Stopped);
        }
        self.discard_requests();
    }
}
