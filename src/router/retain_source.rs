//! `check_retain_source` (mosquitto's option): a retained message is sent to a subscriber only
//! while the client that published it may still publish to its topic, by the ACL file of that
//! client's listener as it reads now. A user whose rights were taken away by a reloaded file
//! stops reaching new subscribers through what they retained before.
//!
//! Only messages from clients the ACL governs are checked: the broker's own (`$SYS`), those
//! a bridge brings in (unless it logs in locally with `local_username`) and the host
//! program's pass, since no ACL applies to what they publish. The publisher is recorded with
//! a retained message while the option is on; one retained before it was turned on passes
//! unchecked.

use std::sync::Arc;

use log::debug;

use super::Router;
use super::retain::RetainSource;
use super::session::Session;
use crate::auth::{Access, ClientIdentity, Security};

impl Router {
    /// Who published a message from session `publisher`, to be kept with it if it is retained:
    /// `None` while `check_retain_source` is off, or for a message from no client.
    pub(super) fn retain_source(&self, publisher: Option<usize>) -> Option<RetainSource> {
        self.source_of(self.sessions.get(publisher?)?)
    }

    /// [`Router::retain_source`] for a session held apart from the router (one just ended):
    /// `None` while the option is off, and for a link no listener's ACL governs (a bridge
    /// without `local_username`, the host program's links).
    pub(super) fn source_of(&self, session: &Session) -> Option<RetainSource> {
        let listener = usize::from(session.listener);
        self.records_source_from(listener).then(|| RetainSource {
            client_id: Arc::clone(&session.client_id),
            username: session.username.clone(),
            listener: session.listener,
        })
    }

    /// Whether a publisher on `listener` is recorded: with the option on, and for a listener
    /// whose ACL governs it.
    pub(super) fn records_source_from(&self, listener: usize) -> bool {
        self.config.check_retain_source && listener < self.security.listeners.len()
    }

    /// Whether the retained message of `topic`, published by `source`, may still be sent.
    pub(super) fn source_may_still_publish(
        &self,
        source: Option<&RetainSource>,
        topic: &str,
    ) -> bool {
        !self.config.check_retain_source || source_may_publish(&self.security, source, topic)
    }
}

/// Whether `source` (with `None`, a publisher not recorded) may publish to `topic` by the ACL
/// file of its listener. A listener without an ACL file lets every client publish; one no
/// longer configured (the store kept its position) is taken to be the first, as for a
/// restored session.
pub(super) fn source_may_publish(
    security: &Security,
    source: Option<&RetainSource>,
    topic: &str,
) -> bool {
    let Some(source) = source else {
        return true;
    };
    let listeners = &security.listeners;
    let listener = listeners
        .get(usize::from(source.listener))
        .or_else(|| listeners.first());
    let Some(acl) = listener.and_then(|l| l.acl.as_deref()) else {
        return true;
    };
    let client = ClientIdentity {
        client_id: &source.client_id,
        username: source.username.as_deref(),
    };
    let allowed = acl.check(&client, topic, Access::Write);
    if !allowed {
        debug!(
            "Retained message on '{topic}' not sent: its publisher {} may no longer publish there",
            source.client_id
        );
    }
    allowed
}
