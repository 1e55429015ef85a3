//! MQTT 5 shared subscriptions, `$share/{ShareName}/{filter}` (section 4.8.2): each message
//! matching a group's filter goes to one member of the group, chosen round robin among the
//! members that are online and may read its topic (an offline one when none is online).

use std::collections::HashMap;
use std::sync::Arc;

use crate::protocol::SubscriptionOptions;
use crate::topic::{TopicError, TopicFilter};

const PREFIX: &str = "$share/";

/// Splits `$share/{ShareName}/{filter}`: `None` when the text is not a shared subscription,
/// `Some(Err)` when it is one but malformed [MQTT-4.8.2-1], [MQTT-4.8.2-2].
pub fn parse(text: &str) -> Option<Result<TopicFilter, TopicError>> {
    let rest = text.strip_prefix(PREFIX)?;
    let Some((share_name, filter)) = rest.split_once('/') else {
        return Some(Err(TopicError::Empty));
    };
    if share_name.is_empty() {
        return Some(Err(TopicError::Empty));
    }
    if share_name.contains(['+', '#']) {
        return Some(Err(TopicError::WildcardInName));
    }
    Some(TopicFilter::parse(filter))
}

#[derive(Debug, Clone, Copy)]
pub struct Member {
    pub session: usize,
    pub options: SubscriptionOptions,
    pub identifier: Option<u32>,
}

struct Group {
    /// The whole `$share/...` text, which names the group.
    name: Arc<str>,
    filter: TopicFilter,
    members: Vec<Member>,
    /// Round-robin position.
    next: usize,
}

/// The shared subscription groups. Few in practice, so matching walks them all; the per-session
/// counts let sessions without shared subscriptions skip the walk on removal.
#[derive(Default)]
pub struct SharedSubscriptions {
    groups: Vec<Group>,
    by_name: HashMap<Arc<str>, usize>,
    per_session: HashMap<usize, usize>,
}

impl SharedSubscriptions {
    /// Adds or replaces `session`'s membership of the group `name`; true when new.
    pub fn subscribe(&mut self, name: &str, filter: TopicFilter, member: Member) -> bool {
        let index = match self.by_name.get(name) {
            Some(&index) => index,
            None => {
                let name: Arc<str> = name.into();
                self.groups.push(Group {
                    name: Arc::clone(&name),
                    filter,
                    members: Vec::new(),
                    next: 0,
                });
                let index = self.groups.len() - 1;
                self.by_name.insert(name, index);
                index
            }
        };
        let Some(group) = self.groups.get_mut(index) else {
            return false;
        };
        if let Some(existing) = group
            .members
            .iter_mut()
            .find(|existing| existing.session == member.session)
        {
            *existing = member;
            return false;
        }
        group.members.push(member);
        *self.per_session.entry(member.session).or_default() += 1;
        true
    }

    pub fn unsubscribe(&mut self, name: &str, session: usize) -> bool {
        let Some(&index) = self.by_name.get(name) else {
            return false;
        };
        let removed = self.leave(index, session);
        self.drop_if_empty(index);
        removed
    }

    /// The groups `session` is a member of, with its membership, for the persistence store.
    pub fn memberships_of(&self, session: usize) -> impl Iterator<Item = (&str, &Member)> {
        let any = self.per_session.get(&session).copied().unwrap_or(0) > 0;
        self.groups
            .iter()
            .filter(move |_| any)
            .filter_map(move |group| {
                let member = group.members.iter().find(|m| m.session == session)?;
                Some((&*group.name, member))
            })
    }

    /// Shared subscriptions held, over every group.
    pub fn len(&self) -> usize {
        self.per_session.values().sum()
    }

    pub fn remove_session(&mut self, session: usize) {
        if self.per_session.get(&session).copied().unwrap_or(0) == 0 {
            return;
        }
        for index in (0..self.groups.len()).rev() {
            self.leave(index, session);
            self.drop_if_empty(index);
        }
        self.per_session.remove(&session);
    }

    /// For every group whose filter matches `topic`, the member to deliver to: the next online
    /// one in round-robin order, or the next offline one when none is online (its session
    /// keeps the message), never one [`Standing::Barred`]. Appends `(group name, member)` to
    /// `out`.
    pub fn pick(
        &mut self,
        topic: &str,
        standing: impl Fn(usize) -> Standing,
        out: &mut Vec<(Arc<str>, Member)>,
    ) {
        for group in &mut self.groups {
            if let Some(member) = group.choose(topic, None, &standing) {
                out.push((Arc::clone(&group.name), member));
            }
        }
    }

    /// Another member of group `name` than `leaving`, for re-sending a message `leaving` did
    /// not acknowledge; only online members qualify.
    pub fn pick_other(
        &mut self,
        name: &str,
        leaving: usize,
        standing: impl Fn(usize) -> Standing,
    ) -> Option<Member> {
        let index = *self.by_name.get(name)?;
        let group = self.groups.get_mut(index)?;
        group
            .choose("", Some(leaving), &standing)
            .filter(|member| standing(member.session) == Standing::Online)
    }

    fn leave(&mut self, index: usize, session: usize) -> bool {
        let Some(group) = self.groups.get_mut(index) else {
            return false;
        };
        let Some(position) = group.members.iter().position(|m| m.session == session) else {
            return false;
        };
        group.members.remove(position);
        if let Some(count) = self.per_session.get_mut(&session) {
            *count = count.saturating_sub(1);
        }
        true
    }

    fn drop_if_empty(&mut self, index: usize) {
        if !self.groups.get(index).is_some_and(|g| g.members.is_empty()) {
            return;
        }
        let removed = self.groups.swap_remove(index);
        self.by_name.remove(&removed.name);
        if let Some(moved) = self.groups.get(index) {
            self.by_name.insert(Arc::clone(&moved.name), index);
        }
    }
}

/// Whether a member can take a message now, later, or not at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Online,
    /// Its session keeps the message until the client is back.
    Offline,
    /// It may not read the topic: another member gets the message, which mosquitto drops.
    Barred,
}

impl Group {
    /// With a non-empty `topic`, only when the filter matches it.
    fn choose(
        &mut self,
        topic: &str,
        excluded: Option<usize>,
        standing: &impl Fn(usize) -> Standing,
    ) -> Option<Member> {
        if !topic.is_empty() && !self.filter.matches(topic) {
            return None;
        }
        let count = self.members.len();
        let candidates = (0..count).map(|step| (self.next + step) % count);
        let with = |wanted: Standing| {
            candidates.clone().find(|position| {
                self.members
                    .get(*position)
                    .is_some_and(|m| Some(m.session) != excluded && standing(m.session) == wanted)
            })
        };
        let position = with(Standing::Online).or_else(|| with(Standing::Offline))?;
        self.next = (position + 1) % count;
        self.members.get(position).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(session: usize) -> Member {
        Member {
            session,
            options: SubscriptionOptions::default(),
            identifier: None,
        }
    }

    fn filter(text: &str) -> TopicFilter {
        TopicFilter::parse(text).unwrap()
    }

    #[test]
    fn parse_recognises_shared_subscriptions() {
        assert!(parse("a/b").is_none());
        assert_eq!(parse("$share/g/a/+").unwrap().unwrap().as_str(), "a/+");
        assert!(parse("$share/g").unwrap().is_err());
        assert!(parse("$share//a").unwrap().is_err());
        assert!(parse("$share/g+/a").unwrap().is_err());
        assert!(parse("$share/g/a/#/b").unwrap().is_err());
    }

    #[test]
    fn messages_go_round_robin_to_online_members() {
        let mut shared = SharedSubscriptions::default();
        for session in 1..=3 {
            assert!(shared.subscribe("$share/g/t", filter("t"), member(session)));
        }
        let online = |session: usize| match session {
            2 => Standing::Offline,
            _ => Standing::Online,
        };
        let mut picked = Vec::new();
        for _ in 0..4 {
            let mut out = Vec::new();
            shared.pick("t", online, &mut out);
            assert_eq!(out.len(), 1);
            picked.push(out[0].1.session);
        }
        assert_eq!(picked, vec![1, 3, 1, 3]);
        let mut out = Vec::new();
        shared.pick("other", online, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn a_member_barred_from_the_topic_is_passed_over_online_or_not() {
        let mut shared = SharedSubscriptions::default();
        for session in 1..=3 {
            shared.subscribe("$share/g/#", filter("#"), member(session));
        }
        let pick = |shared: &mut SharedSubscriptions, standing: &dyn Fn(usize) -> Standing| {
            let mut out = Vec::new();
            shared.pick("home/secret", standing, &mut out);
            out.first().map(|(_, m)| m.session)
        };
        let barred_1 = |s: usize| match s {
            1 => Standing::Barred,
            _ => Standing::Online,
        };
        let picked: Vec<_> = (0..3).map(|_| pick(&mut shared, &barred_1)).collect();
        assert_eq!(picked, [Some(2), Some(3), Some(2)]);
        // Online members first, then an offline one that may read; never a barred one.
        let only_3_offline = |s: usize| match s {
            3 => Standing::Offline,
            _ => Standing::Barred,
        };
        assert_eq!(pick(&mut shared, &only_3_offline), Some(3));
        assert_eq!(pick(&mut shared, &|_| Standing::Barred), None);
    }

    #[test]
    fn leaving_members_and_empty_groups_are_removed() {
        let mut shared = SharedSubscriptions::default();
        shared.subscribe("$share/a/t", filter("t"), member(1));
        shared.subscribe("$share/b/t", filter("t"), member(1));
        shared.subscribe("$share/b/t", filter("t"), member(2));
        assert!(!shared.subscribe("$share/b/t", filter("t"), member(2)));
        shared.remove_session(1);
        let mut out = Vec::new();
        shared.pick("t", |_| Standing::Online, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(&*out[0].0, "$share/b/t");
        assert_eq!(
            shared
                .pick_other("$share/b/t", 2, |_| Standing::Online)
                .map(|m| m.session),
            None
        );
        assert!(shared.unsubscribe("$share/b/t", 2));
        assert!(shared.groups.is_empty() && shared.by_name.is_empty());
    }
}
