//! What the router tells the persistence store: every change to state that must survive a
//! restart, as plain data, taken once per loop turn. The router never touches a file.
//!
//! Only stored sessions (those that outlive their connection) and retained messages outside
//! `$SYS` produce changes, so a message that only reaches online clean sessions costs nothing
//! here. A session's own changes are journaled by the session itself (see `Session::journal`)
//! in the order they happen; retained messages and ended sessions go to the router's journal,
//! which is taken first.

use std::sync::Arc;
use std::time::Instant;

use super::Router;
use super::message::Message;
use super::retain::{Replaced, RetainSource};
use super::session::{Flight, Queued, Session, Stored};
use crate::protocol::{PacketId, ProtocolVersion, SubscriptionOptions, Will};

/// One change to the stored state.
#[derive(Debug, Clone)]
pub enum Change {
    /// A retained message set; `replaced` is the one it took the place of, whose record the
    /// store now counts as dead.
    Retained {
        message: Arc<Message>,
        replaced: Option<Arc<Message>>,
        /// Who published it, kept for `check_retain_source`.
        source: Option<RetainSource>,
    },
    RetainedCleared {
        topic: Arc<str>,
        cleared: Option<Arc<Message>>,
    },
    /// What the session is now (not what it holds); replaces the previous one.
    Session(Box<SessionMeta>),
    /// The session left the store with `held` queued and in-flight messages.
    SessionEnded {
        session: u64,
        held: usize,
    },
    Subscribed {
        session: u64,
        filter: Arc<str>,
        options: SubscriptionOptions,
        identifier: Option<u32>,
    },
    Unsubscribed {
        session: u64,
        filter: Arc<str>,
    },
    /// Appended to the queue, under `item.entry`.
    Queued {
        session: u64,
        item: Queued,
    },
    Unqueued {
        session: u64,
        entry: u64,
    },
    InFlight {
        session: u64,
        packet_id: PacketId,
        item: Queued,
    },
    Released {
        session: u64,
        packet_id: PacketId,
    },
    Landed {
        session: u64,
        packet_id: PacketId,
    },
    Inbound {
        session: u64,
        packet_id: u16,
    },
    InboundDone {
        session: u64,
        packet_id: u16,
    },
}

#[derive(Debug, Clone)]
pub struct SessionMeta {
    pub session: u64,
    pub client_id: Arc<str>,
    pub expiry_interval: u32,
    pub protocol: ProtocolVersion,
    pub username: Option<Arc<str>>,
    pub listener: usize,
    /// When the offline session ends; `None` while connected or for never.
    pub expires_at: Option<Instant>,
    pub will: Option<(Instant, Will)>,
}

impl SessionMeta {
    fn of(session: &Session) -> SessionMeta {
        SessionMeta {
            session: session.store_id(),
            client_id: Arc::clone(&session.client_id),
            expiry_interval: session.expiry_interval,
            protocol: session.protocol,
            username: session.username.clone(),
            listener: usize::from(session.listener),
            expires_at: session.expires_at,
            will: session.pending_will.as_deref().cloned(),
        }
    }
}

/// Retained `$SYS` messages describe the running broker, and are made afresh by the next one.
fn is_stored_topic(topic: &str) -> bool {
    !topic.starts_with("$SYS")
}

impl Router {
    /// From now on, changes to stored state are journaled for [`Router::take_changes`].
    /// Called once, before clients connect, when persistence is on.
    pub fn enable_journal(&mut self) {
        self.journaling = true;
    }

    /// Moves the changes since the last call into `out`, in an order the store can replay:
    /// the router's own first (retained messages, ended sessions), then each session's.
    pub fn take_changes(&mut self, out: &mut Vec<Change>) {
        if !self.journaling {
            return;
        }
        out.append(&mut self.journal);
        for key in &self.stored_sessions {
            if let Some(store) = self.sessions.get_mut(*key).and_then(|s| s.store.as_mut()) {
                out.append(&mut store.journal);
            }
        }
    }

    /// The whole stored state as changes from nothing, handed to `each` one at a time so that a
    /// large store is streamed rather than built in memory; the journals are emptied, since
    /// the snapshot holds what they said.
    pub fn snapshot(&mut self, mut each: impl FnMut(Change)) {
        self.journal.clear();
        for message in self.retained.iter() {
            if is_stored_topic(&message.topic) && !message.is_expired(self.now) {
                each(Change::Retained {
                    message: Arc::clone(message),
                    replaced: None,
                    source: self.retained.source(&message.topic).cloned(),
                });
            }
        }
        for &key in &self.stored_sessions {
            if let Some(store) = self.sessions.get_mut(key).and_then(|s| s.store.as_mut()) {
                store.journal.clear();
            }
        }
        for &key in &self.stored_sessions {
            self.describe_session(key, &mut each);
        }
    }

    /// A retained message was set or cleared, in place of `replaced`.
    pub(super) fn journal_retained(
        &mut self,
        message: &Arc<Message>,
        source: Option<RetainSource>,
        replaced: Option<&Replaced>,
    ) {
        if !self.journaling || !is_stored_topic(&message.topic) {
            return;
        }
        let replaced = replaced.map(|r| Arc::clone(&r.message));
        self.journal.push(if message.payload.is_empty() {
            Change::RetainedCleared {
                topic: Arc::clone(&message.topic),
                cleared: replaced,
            }
        } else {
            Change::Retained {
                message: Arc::clone(message),
                replaced,
                source,
            }
        });
    }

    /// After CONNECT: a session that outlives its connection is stored (all of it, if it held
    /// state before it was), and one that no longer does leaves the store.
    pub(super) fn journal_connected(&mut self, key: usize) {
        if !self.journaling {
            return;
        }
        let Some(session) = self.sessions.get_mut(key) else {
            return;
        };
        match (session.store_id(), session.expiry_interval) {
            (0, 0) => {}
            (0, _) => {
                self.next_store_id += 1;
                self.stored_sessions.insert(key);
                // What it queued while not stored gets entry numbers now.
                let mut last_entry = 0;
                if let Some(d) = session.existing_delivery_mut() {
                    for item in &mut d.queue {
                        last_entry += 1;
                        item.entry = last_entry;
                    }
                }
                session.store = Some(Box::new(Stored {
                    id: self.next_store_id,
                    last_entry,
                    journal: Vec::new(),
                }));
                let mut described = Vec::new();
                self.describe_session(key, &mut |change| described.push(change));
                if let Some(session) = self.sessions.get_mut(key) {
                    session.journal_all(&mut described);
                }
            }
            (id, 0) => {
                session.store = None;
                self.stored_sessions.remove(&key);
                let held = session.delivery().queue.len() + session.delivery().inflight.len();
                self.journal
                    .push(Change::SessionEnded { session: id, held });
            }
            _ => self.journal_session(key),
        }
    }

    /// The session's own fields changed (connected, went offline, its will was published).
    pub(super) fn journal_session(&mut self, key: usize) {
        if let Some(session) = self.sessions.get_mut(key)
            && session.store.is_some()
        {
            let meta = SessionMeta::of(session);
            session.journal(|_| Change::Session(Box::new(meta)));
        }
    }

    pub(super) fn journal_session_ended(&mut self, key: usize, session: &Session) {
        self.stored_sessions.remove(&key);
        if let Some(store) = &session.store {
            self.journal.push(Change::SessionEnded {
                session: store.id,
                held: session.delivery().queue.len() + session.delivery().inflight.len(),
            });
        }
    }

    pub(super) fn journal_subscription(&mut self, key: usize, change: impl FnOnce(u64) -> Change) {
        if let Some(session) = self.sessions.get_mut(key) {
            session.journal(change);
        }
    }

    /// Everything a stored session is and holds, as changes from nothing.
    fn describe_session(&self, key: usize, out: &mut impl FnMut(Change)) {
        let Some(session) = self.sessions.get(key) else {
            return;
        };
        let id = session.store_id();
        out(Change::Session(Box::new(SessionMeta::of(session))));
        for (filter, options, identifier) in self.subscriptions.subscriptions_of(key) {
            out(Change::Subscribed {
                session: id,
                filter: filter.into(),
                options,
                identifier,
            });
        }
        for (name, member) in self.shared.memberships_of(key) {
            out(Change::Subscribed {
                session: id,
                filter: name.into(),
                options: member.options,
                identifier: member.identifier,
            });
        }
        for (packet_id, flight) in &session.delivery().inflight {
            let packet_id = *packet_id;
            out(match flight {
                Flight::Qos1Sent(item) | Flight::Qos2Sent(item) => Change::InFlight {
                    session: id,
                    packet_id,
                    item: item.clone(),
                },
                Flight::Released => Change::Released {
                    session: id,
                    packet_id,
                },
            });
        }
        describe_queue(session, out);
        for packet_id in session.delivery().inbound_qos2.iter() {
            out(Change::Inbound {
                session: id,
                packet_id,
            });
        }
    }
}

fn describe_queue(session: &Session, out: &mut impl FnMut(Change)) {
    for item in &session.delivery().queue {
        out(Change::Queued {
            session: session.store_id(),
            item: item.clone(),
        });
    }
}
