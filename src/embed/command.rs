//! What the host program asks of the broker's loop, through the queue its handle feeds.

use std::sync::Arc;
use std::sync::mpsc::SyncSender;

use super::queue::Queue;
use super::receipt::Resolver;
use super::{Publication, SubscribeOptions};
use crate::config::Config;
use crate::router::Stats;
use crate::topic::TopicFilter;

/// What the host program asks of the loop. Kept small, the larger requests boxed: the queue
/// to the loop has room for `command_capacity` of them from the start, in every broker, used
/// or not.
pub(crate) enum Command {
    Publish {
        publication: Box<Publication>,
        receipt: Option<Resolver>,
    },
    Subscribe(Box<SubscribeRequest>),
    Stats(SyncSender<Stats>),
    Reload {
        config: Option<Box<Config>>,
        done: SyncSender<()>,
    },
}

/// A subscription for the loop to make on the host's behalf.
pub(crate) struct SubscribeRequest {
    pub(crate) id: u64,
    pub(crate) filter: TopicFilter,
    pub(crate) options: SubscribeOptions,
    pub(crate) queue: Arc<Queue>,
}

#[cfg(test)]
mod tests {
    /// The request queue holds `command_capacity` of these from the start (1,024 by default,
    /// in every broker): at 72 bytes unboxed it was 80 KiB of an idle broker's memory.
    #[test]
    fn a_command_stays_small() {
        let size = size_of::<super::Command>();
        assert!(size <= 24, "Command is {size} bytes");
    }
}
