//! [`BrokerHandle`]: the host program's way into a running broker, from any thread. Requests go
//! to the loop through one bounded queue, and the loop is woken through its `mio::Waker`; the
//! loop never waits for the host.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use mio::Waker;

use super::command::{Command, SubscribeRequest};
use super::joiner::Joiner;
use super::queue::{Ended, Queue};
use super::receipt::{PublishReceipt, receipt};
use super::{Publication, SubscribeOptions, Subscription};
use crate::config::Config;
use crate::protocol::ReasonCode;
use crate::router::Stats;
use crate::topic::{TopicFilter, TopicName};

/// Requests waiting in the queue to the loop, by default; see
/// [`BrokerBuilder::command_capacity`](crate::BrokerBuilder::command_capacity).
pub const DEFAULT_COMMAND_CAPACITY: usize = 1024;

/// Why a request through the handle did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandleError {
    /// The broker is not running (any more).
    Stopped,
    /// The queue to the broker's loop is full: the loop is busier than the host publishes
    /// (only from `try_` methods and on the loop's own thread, which must not wait).
    Full,
    /// Not a valid topic name to publish to (empty, a wildcard, U+0000, over 65,535 bytes).
    InvalidTopic(String),
    /// Not a valid topic filter.
    InvalidFilter(String),
    /// Larger than the broker's `max_packet_size`.
    TooLarge,
    /// The broker refused it, with this MQTT 5 reason code (a publication over
    /// `message_size_limit`, a full queue under `memory_limit`, a subscription refused).
    Refused(ReasonCode),
    /// Waited longer than the timeout given.
    TimedOut,
    /// A configuration given to [`BrokerHandle::reload`] that [`Config::validate`] refuses.
    InvalidConfig(String),
    /// Waiting here would wait for the loop's own turn: the call was made on the thread that
    /// runs the broker (in a hook, or by a host driving `poll_once`).
    OnLoopThread,
}

impl fmt::Display for HandleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandleError::Stopped => f.write_str("the broker is not running"),
            HandleError::Full => f.write_str("the broker's request queue is full"),
            HandleError::InvalidTopic(why) => write!(f, "invalid topic name: {why}"),
            HandleError::InvalidFilter(why) => write!(f, "invalid topic filter: {why}"),
            HandleError::TooLarge => f.write_str("larger than the broker's max_packet_size"),
            HandleError::Refused(reason) => write!(f, "refused by the broker ({reason:?})"),
            HandleError::TimedOut => f.write_str("timed out"),
            HandleError::InvalidConfig(why) => write!(f, "invalid configuration: {why}"),
            HandleError::OnLoopThread => {
                f.write_str("cannot wait for the broker on the broker's own thread")
            }
        }
    }
}

impl std::error::Error for HandleError {}

/// What every clone of a handle shares with the loop.
pub(crate) struct Shared {
    commands: SyncSender<Command>,
    /// `None` where no loop waits to be woken: the `session` fuzz target drives the host's
    /// client turn by turn.
    waker: Option<Arc<Waker>>,
    pub(crate) stop: Arc<AtomicBool>,
    /// A wake is on its way to the loop, which has not drained the queue since: one wake per
    /// batch of requests rather than one system call per request.
    pub(crate) wake_pending: AtomicBool,
    /// The thread running the loop, once it runs (a `BrokerLoop` cannot move to another).
    pub(crate) loop_thread: OnceLock<ThreadId>,
    /// The loop has ended, however it ended: nothing waits for it any more.
    pub(crate) loop_gone: AtomicBool,
    next_subscription: AtomicU64,
    addrs: Vec<SocketAddr>,
    max_packet_size: u32,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("addrs", &self.addrs)
            .field("stop", &self.stop)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// The shared part and the loop's end of the request queue.
    pub(crate) fn new(
        waker: Option<Arc<Waker>>,
        stop: Arc<AtomicBool>,
        addrs: Vec<SocketAddr>,
        max_packet_size: u32,
        capacity: usize,
    ) -> (Arc<Shared>, Receiver<Command>) {
        let (commands, receiver) = mpsc::sync_channel(capacity.max(1));
        let shared = Shared {
            commands,
            waker,
            stop,
            wake_pending: AtomicBool::new(false),
            loop_thread: OnceLock::new(),
            loop_gone: AtomicBool::new(false),
            next_subscription: AtomicU64::new(1),
            addrs,
            max_packet_size,
        };
        (Arc::new(shared), receiver)
    }

    /// Wakes the loop unless a wake is already on its way.
    pub(crate) fn wake(&self) {
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            self.wake_now();
        }
    }

    pub(crate) fn wake_now(&self) {
        if let Some(waker) = &self.waker {
            // Fails only when the loop's poll is gone, and then nobody needs waking.
            let _ = waker.wake();
        }
    }

    pub(crate) fn on_loop_thread(&self) -> bool {
        self.loop_thread.get() == Some(&std::thread::current().id())
    }

    /// Queues a request; waits for room unless `wait` is false or this is the loop's thread.
    fn send(&self, command: Command, wait: bool) -> Result<(), HandleError> {
        if self.stop.load(Ordering::Acquire) || self.loop_gone.load(Ordering::Acquire) {
            return Err(HandleError::Stopped);
        }
        let sent = if wait && !self.on_loop_thread() {
            self.commands
                .send(command)
                .map_err(|_| HandleError::Stopped)
        } else {
            self.commands.try_send(command).map_err(|e| match e {
                TrySendError::Full(_) => HandleError::Full,
                TrySendError::Disconnected(_) => HandleError::Stopped,
            })
        };
        if sent.is_ok() {
            self.wake();
        }
        sent
    }
}

/// A running broker's handle: publish, subscribe, read the statistics, reload, stop. Cheap
/// to clone, and usable from any thread.
///
/// ```
/// use minibroker::BrokerBuilder;
/// use minibroker::embed::Publication;
/// use minibroker::protocol::QoS;
///
/// let handle = BrokerBuilder::new().build()?.spawn();
/// let readings = handle.subscribe("sensors/#", QoS::AtLeastOnce)?;
/// readings.wait_ready(std::time::Duration::from_secs(5))?;
/// handle.publish(Publication::new("sensors/kitchen/temp", "21.5").qos(QoS::AtLeastOnce))?;
/// let message = readings.recv()?;
/// assert_eq!(&*message.topic, "sensors/kitchen/temp");
/// assert_eq!(&*message.payload, b"21.5");
/// handle.stop()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct BrokerHandle {
    shared: Arc<Shared>,
    /// The background thread, for a broker started with [`crate::Broker::spawn`]: the last
    /// clone dropped stops the broker and waits for the thread.
    thread: Option<Arc<Joiner>>,
}

impl BrokerHandle {
    pub(crate) fn new(shared: Arc<Shared>) -> BrokerHandle {
        BrokerHandle {
            shared,
            thread: None,
        }
    }

    pub(crate) fn with_thread(shared: Arc<Shared>, thread: JoinHandle<io::Result<()>>) -> Self {
        let joiner = Joiner::new(Arc::clone(&shared), thread);
        BrokerHandle {
            shared,
            thread: Some(Arc::new(joiner)),
        }
    }

    /// The TCP addresses the broker listens on.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.shared.addrs.clone()
    }

    /// Publishes a message, as from a client that may publish anywhere (the ACL and the
    /// hooks are for network clients). Returns once the message is queued for the loop;
    /// while the queue is full it waits for room, except on the loop's own thread, where
    /// it returns [`HandleError::Full`] instead.
    pub fn publish(&self, publication: Publication) -> Result<(), HandleError> {
        self.check(&publication)?;
        let command = Command::Publish {
            publication: Box::new(publication),
            receipt: None,
        };
        self.shared.send(command, true)
    }

    /// [`BrokerHandle::publish`], but never waits: [`HandleError::Full`] when the queue is.
    pub fn try_publish(&self, publication: Publication) -> Result<(), HandleError> {
        self.check(&publication)?;
        let command = Command::Publish {
            publication: Box::new(publication),
            receipt: None,
        };
        self.shared.send(command, false)
    }

    /// [`BrokerHandle::publish`], with a receipt that tells when the broker has accepted the
    /// message (and stored it, with persistence on) or why it refused it.
    pub fn publish_with_receipt(
        &self,
        publication: Publication,
    ) -> Result<PublishReceipt, HandleError> {
        self.check(&publication)?;
        let (receipt, resolver) = receipt();
        let command = Command::Publish {
            publication: Box::new(publication),
            receipt: Some(resolver),
        };
        self.shared.send(command, true)?;
        Ok(receipt)
    }

    fn check(&self, publication: &Publication) -> Result<(), HandleError> {
        TopicName::parse(&publication.topic)
            .map_err(|e| HandleError::InvalidTopic(e.to_string()))?;
        // The fixed header, topic length, packet id and property length, generously.
        let size = publication.topic.len() + publication.payload.len() + 16;
        if u32::try_from(size).map_or(true, |size| size > self.shared.max_packet_size) {
            return Err(HandleError::TooLarge);
        }
        Ok(())
    }

    /// Subscribes to `filter` at up to `qos`; the messages arrive in the returned
    /// [`Subscription`]. The subscription is made by the loop's next turn (see
    /// [`Subscription::wait_ready`]); one asked for through [`crate::Broker::handle`] before
    /// the broker runs is in place before the first client is served.
    pub fn subscribe(
        &self,
        filter: &str,
        qos: crate::protocol::QoS,
    ) -> Result<Subscription, HandleError> {
        self.subscribe_with(filter, SubscribeOptions::new(qos))
    }

    /// Subscribes with every MQTT 5 subscription option and the host-side capacity.
    pub fn subscribe_with(
        &self,
        filter: &str,
        options: SubscribeOptions,
    ) -> Result<Subscription, HandleError> {
        let filter =
            TopicFilter::parse(filter).map_err(|e| HandleError::InvalidFilter(e.to_string()))?;
        let queue = Arc::new(Queue::new(options.capacity));
        let id = self
            .shared
            .next_subscription
            .fetch_add(1, Ordering::Relaxed);
        let command = Command::Subscribe(Box::new(SubscribeRequest {
            id,
            filter: filter.clone(),
            options,
            queue: Arc::clone(&queue),
        }));
        self.shared.send(command, true)?;
        Ok(Subscription::new(filter, queue, Arc::clone(&self.shared)))
    }

    /// The broker's statistics, as `$SYS` shows them. Waits for the loop's next turn, so not
    /// on the loop's own thread (a `poll_once` host reads
    /// [`BrokerLoop::stats`](crate::BrokerLoop::stats) instead).
    pub fn stats(&self) -> Result<Stats, HandleError> {
        self.stats_timeout(Duration::from_secs(60))
    }

    /// [`BrokerHandle::stats`], waiting at most `timeout`.
    pub fn stats_timeout(&self, timeout: Duration) -> Result<Stats, HandleError> {
        if self.shared.on_loop_thread() {
            return Err(HandleError::OnLoopThread);
        }
        let (reply, answer) = mpsc::sync_channel(1);
        self.shared.send(Command::Stats(reply), true)?;
        answer.recv_timeout(timeout).map_err(|e| match e {
            mpsc::RecvTimeoutError::Timeout => HandleError::TimedOut,
            mpsc::RecvTimeoutError::Disconnected => HandleError::Stopped,
        })
    }

    /// Reloads as SIGHUP does: the password and ACL files and the TLS certificate are read
    /// again, and with `config` every limit, queue and session setting is taken from it (the
    /// listeners stay as they were bound). Returns once done; on the loop's own thread it
    /// returns once queued.
    pub fn reload(&self, config: Option<Config>) -> Result<(), HandleError> {
        if let Some(config) = &config {
            config
                .validate()
                .map_err(|e| HandleError::InvalidConfig(e.to_string()))?;
        }
        let (done, finished) = mpsc::sync_channel(1);
        let command = Command::Reload {
            config: config.map(Box::new),
            done,
        };
        self.shared.send(command, true)?;
        if self.shared.on_loop_thread() {
            return Ok(());
        }
        finished.recv().map_err(|_| HandleError::Stopped)
    }

    /// Stops the broker: every connection is closed (MQTT 5 clients are told why), sessions
    /// and retained messages are saved when persistence is on. For a broker started with
    /// [`crate::Broker::spawn`] this waits for its thread and returns the error that ended it
    /// early, if one did; otherwise the loop stops at its next turn.
    pub fn stop(&self) -> io::Result<()> {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake_now();
        match &self.thread {
            Some(joiner) => joiner.join(),
            None => Ok(()),
        }
    }
}

/// Marks a subscription dropped by the host and wakes the loop to end it.
pub(crate) fn release(queue: &Queue, shared: &Shared) {
    let mut state = queue.lock();
    if !state.dropped {
        state.dropped = true;
        state.messages.clear();
        drop(state);
        shared.wake();
    }
}

/// Tells the host a subscription ended.
pub(crate) fn end(queue: &Queue, why: Ended) {
    let mut state = queue.lock();
    if state.ended.is_none() {
        state.ended = Some(why);
    }
    drop(state);
    queue.notify();
}

/// How long a caller is willing to wait, as a deadline.
pub(crate) fn deadline(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(t))
}
