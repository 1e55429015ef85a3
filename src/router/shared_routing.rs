//! Delivering through shared subscription groups, and handing a leaving member's unacknowledged
//! group messages to another member.

use std::sync::Arc;

use super::Router;
use super::access::may_read;
use super::message::Message;
use super::session::{Queued, Session};
use super::shared::{Member, Standing};

impl Router {
    /// Delivers `message` to one member of every shared group whose filter matches.
    pub(super) fn route_shared(&mut self, message: &Arc<Message>, publisher: Option<usize>) {
        let _ = publisher; // No Local is not allowed on shared subscriptions [MQTT-3.8.3-4].
        let mut picks = std::mem::take(&mut self.scratch_shared);
        let sessions = &self.sessions;
        self.shared.pick(
            &message.topic,
            |key| standing(sessions.get(key), &message.topic),
            &mut picks,
        );
        let upgrade = self.config.upgrade_outgoing_qos;
        for (group, member) in picks.drain(..) {
            let item = shared_item(Arc::clone(message), group, &member, upgrade);
            self.deliver(member.session, item);
        }
        self.scratch_shared = picks;
    }

    /// The session's link is gone: its unacknowledged shared-group messages go to another
    /// online member of their group; with none online they stay with the session.
    pub(super) fn reassign_shared(&mut self, session_key: usize) {
        let Some(session) = self.sessions.get_mut(session_key) else {
            return;
        };
        let orphans = session.take_shared();
        for item in orphans {
            let Some(group) = item.shared_group.clone() else {
                continue;
            };
            let sessions = &self.sessions;
            let topic = &item.message.topic;
            let other = self.shared.pick_other(&group, session_key, |key| {
                standing(sessions.get(key), topic)
            });
            match other {
                Some(member) => {
                    let upgrade = self.config.upgrade_outgoing_qos;
                    let moved = shared_item(item.message, group, &member, upgrade);
                    self.deliver(member.session, moved);
                }
                None => {
                    if let Some(session) = self.sessions.get_mut(session_key) {
                        session.enqueue(item, &self.config);
                    }
                }
            }
        }
    }
}

/// Whether a member's session can take a message on `topic`: its ACL must let it read the
/// topic, which a filter only partly readable does not promise.
fn standing(session: Option<&Session>, topic: &str) -> Standing {
    match session {
        Some(s) if !may_read(s, topic) => Standing::Barred,
        Some(s) if s.link().is_some() => Standing::Online,
        Some(_) => Standing::Offline,
        None => Standing::Barred,
    }
}

fn shared_item(message: Arc<Message>, group: Arc<str>, member: &Member, upgrade: bool) -> Queued {
    Queued {
        qos: message.delivery_qos(member.options.qos, upgrade),
        retain: message.retain && member.options.retain_as_published,
        subscription_ids: member.identifier.into_iter().collect(),
        shared_group: Some(group),
        message,
        entry: 0,
    }
}
