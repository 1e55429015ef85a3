//! The router's internal invariants, checked from outside by the `session` fuzz target and tests.
//!
//! Each rule is one the rest of the router relies on without re-checking it: the in-flight window
//! and queue bounds, unique packet ids, and the links, sessions and subscription table agreeing
//! about who belongs to whom.

use std::collections::HashSet;

use super::Router;
use super::link::LinkState;
use super::session::Session;

impl Router {
    /// Checks every internal invariant and names the first one broken. Costs a walk over all
    /// links, sessions and subscriptions, so it is for tests and fuzzing, not for the hot path.
    #[doc(hidden)]
    pub fn check_invariants(&self) -> Result<(), String> {
        for (key, session) in &self.sessions {
            self.check_session(key, session)
                .map_err(|why| format!("session {:?}: {why}", session.client_id))?;
        }
        self.check_links()?;
        self.check_client_ids()?;
        self.check_memory_counts()?;
        let held: usize = self
            .sessions
            .iter()
            .map(|(key, _)| self.subscriptions.subscriptions_of(key).count())
            .sum();
        if held != self.subscriptions.len() {
            return Err(format!(
                "subscription table holds {} subscriptions, live sessions {held}",
                self.subscriptions.len()
            ));
        }
        Ok(())
    }

    /// The memory budget's running totals are the sums of what each link and session was
    /// charged, and every link's output is charged as it stands: under a budget always, without
    /// one once the links written to (the ready ones) are taken.
    fn check_memory_counts(&self) -> Result<(), String> {
        let outputs: usize = self
            .links
            .iter()
            .map(|(_, l)| l.charged_output as usize)
            .sum();
        let entries: usize = (self.sessions.iter())
            .map(|(_, s)| s.charged_entries as usize)
            .sum();
        if (outputs, entries) != (self.memory.outputs, self.memory.entries) {
            return Err(format!(
                "memory totals {} and {} for outputs and entries, charged {outputs} and {entries}",
                self.memory.outputs, self.memory.entries
            ));
        }
        let budgeted = self.memory.budget.limit() > 0;
        for (_, link) in (self.links.iter()).filter(|(_, link)| budgeted || !link.ready) {
            if link.charged_output as usize != link.output.capacity() {
                return Err(format!(
                    "link {} charged {} bytes of output for {}",
                    link.name(),
                    link.charged_output,
                    link.output.capacity()
                ));
            }
        }
        Ok(())
    }

    fn check_session(&self, key: usize, session: &Session) -> Result<(), String> {
        let window = usize::from(self.config.max_inflight_messages);
        if session.delivery().inflight.len() > window {
            return Err(format!(
                "{} messages in flight, window {window}",
                session.delivery().inflight.len()
            ));
        }
        let held: usize = session
            .delivery()
            .inflight
            .iter()
            .map(|(_, f)| f.held_bytes())
            .sum();
        if held != session.delivery().inflight_bytes {
            return Err(format!(
                "inflight_bytes {} but the window holds {held}",
                session.delivery().inflight_bytes
            ));
        }
        let mut ids = HashSet::new();
        if let Some((id, _)) = session
            .delivery()
            .inflight
            .iter()
            .find(|(id, _)| !ids.insert(*id))
        {
            return Err(format!("packet id {} in flight twice", id.get()));
        }
        if session.delivery().queue.len() > self.config.max_queued_messages {
            return Err(format!(
                "{} messages queued, limit {}",
                session.delivery().queue.len(),
                self.config.max_queued_messages
            ));
        }
        let bytes: usize = session
            .delivery()
            .queue
            .iter()
            .map(|q| q.message.payload.len())
            .sum();
        if bytes != session.delivery().queued_bytes {
            return Err(format!(
                "queued_bytes {} but queue holds {bytes}",
                session.delivery().queued_bytes
            ));
        }
        let qos0 = session
            .delivery()
            .queue
            .iter()
            .filter(|q| q.qos == crate::protocol::QoS::AtMostOnce)
            .count();
        if qos0 != session.delivery().queued_qos0 {
            return Err(format!(
                "queued_qos0 {} but queue holds {qos0}",
                session.delivery().queued_qos0
            ));
        }
        let byte_limit = self.config.max_queued_bytes;
        if byte_limit != 0 && bytes > byte_limit {
            return Err(format!("{bytes} payload bytes queued, limit {byte_limit}"));
        }
        if let Some(link_key) = session.link() {
            let link = self
                .links
                .get(link_key)
                .ok_or_else(|| format!("attached to missing link {link_key}"))?;
            if link.session() != Some(key) {
                return Err(format!("link {link_key} does not point back"));
            }
        }
        Ok(())
    }

    fn check_links(&self) -> Result<(), String> {
        for (key, link) in &self.links {
            if link.ready
                && !self
                    .ready
                    .iter()
                    .any(|r| r.link.key() == key && r.link.generation == link.generation)
            {
                return Err(format!("link {key} marked ready but not in the ready list"));
            }
            let Some(session_key) = link.session() else {
                continue;
            };
            if link.state != LinkState::Connected {
                return Err(format!("link {key} holds a session while {:?}", link.state));
            }
            let session = self
                .sessions
                .get(session_key)
                .ok_or_else(|| format!("link {key} holds missing session {session_key}"))?;
            if session.link() != Some(key) {
                return Err(format!("session of link {key} is attached elsewhere"));
            }
        }
        Ok(())
    }

    fn check_client_ids(&self) -> Result<(), String> {
        if self.session_by_client_id.len() != self.sessions.len() {
            return Err(format!(
                "{} client ids for {} sessions",
                self.session_by_client_id.len(),
                self.sessions.len()
            ));
        }
        for (client_id, &key) in &self.session_by_client_id {
            match self.sessions.get(key) {
                Some(session) if session.client_id == *client_id => {}
                _ => return Err(format!("client id {client_id:?} maps to a wrong session")),
            }
        }
        Ok(())
    }
}
