//! Who may connect: `allow_anonymous`, the password file check, the slow-down of repeated
//! failures, and the re-check of every connected client when the files are reloaded.
//!
//! A refusal is CONNACK 5 (3.x) or 0x87 Not authorized (MQTT 5), for a bad password and an
//! unknown user alike. MQTT 5 has 0x86 "Bad User Name or Password", but mosquitto never sends
//! it (MOSQUITTO-COMPAT.md section 4), and clients and scripts written against mosquitto look
//! for 0x87; one code for every refusal also tells a guesser nothing about which part was
//! wrong. The log line says which, with the client id and address, never the password.

use std::sync::Arc;

use log::info;

use super::connect::Refusal;
use super::lifecycle::Ending;
use super::link::{Credentials, LinkState};
use super::slowdown::Verdict;
use super::{LinkId, Router};
use crate::auth::{ListenerSecurity, Security};
use crate::config::ListenerConfig;
use crate::logging::CONNECTION_TARGET;
use crate::protocol::Connect;

/// Why a login is refused, for the log.
fn check(security: &ListenerSecurity, connect: &Connect) -> Result<(), &'static str> {
    let Some(username) = connect.username.as_deref() else {
        return if security.allow_anonymous {
            Ok(())
        } else {
            Err("anonymous clients are not allowed on this listener")
        };
    };
    match &security.passwords {
        Some(passwords) if passwords.check(username, connect.password.as_deref()) => Ok(()),
        Some(_) => Err("bad username or password"),
        None if security.allow_anonymous => Ok(()),
        // mosquitto #2358: with neither a password file nor anonymous access, nobody gets in.
        None => Err("allow_anonymous is false and there is no password file"),
    }
}

impl Router {
    /// Tells the router which listener (its position in the configuration's listeners) a link
    /// arrived on, for that listener's security settings; call it right after
    /// [`Router::open_link`]. A link never told gets listener 0's.
    pub fn set_link_listener(&mut self, link: LinkId, listener: usize) {
        if let Some(key) = self.live(link)
            && let Some(link) = self.links.get_mut(key)
        {
            // Listeners are fewer than `MAX_LISTENERS`, far below 65,536.
            link.listener = u16::try_from(listener).unwrap_or(u16::MAX);
        }
    }

    /// The listeners the router was created with (those bound), in the configuration's order.
    pub fn listeners(&self) -> &[ListenerConfig] {
        &self.config.listeners
    }

    /// The security settings of the listener `key` arrived on.
    pub(super) fn link_security(&self, key: usize) -> ListenerSecurity {
        let listener = self
            .links
            .get(key)
            .map_or(0, |link| usize::from(link.listener));
        self.security
            .listeners
            .get(listener)
            .cloned()
            .unwrap_or_else(ListenerSecurity::open)
    }

    /// Checks a CONNECT's login. `None` when it was refused or is held by the slow-down (the
    /// link then waits in `LinkState::Held` until [`Router::resume_held`]).
    pub(super) fn authenticate(&mut self, key: usize, connect: Connect) -> Option<Connect> {
        let security = self.link_security(key);
        let link = self.links.get_mut(key)?;
        // Kept for a reload to check against the files then in force.
        if let Some(username) = connect.username.as_deref() {
            link.extras_mut().credentials = Some(Credentials {
                username: username.into(),
                password: connect.password.as_deref().map(Into::into),
            });
        } else if let Some(extras) = &mut link.extras {
            extras.credentials = None;
        }
        if !security.authenticates() {
            return Some(connect);
        }
        let peer = link.peer.ip();
        if !link.penalty_served {
            match self.failures.verdict(peer, self.now) {
                Verdict::CheckNow => {}
                Verdict::HoldUntil(at) => {
                    link.state = LinkState::Held;
                    link.extras_mut().held = Some(Box::new((at, connect)));
                    let id = LinkId::new(key, link.generation);
                    self.deadlines.push(at, id);
                    return None;
                }
                Verdict::Refuse => {
                    self.refuse_login(key, &connect, "too many failed logins from this address");
                    return None;
                }
            }
        }
        match check(&security, &connect) {
            Ok(()) => Some(connect),
            Err(why) => {
                self.failures.failed(peer, self.now);
                self.refuse_login(key, &connect, why);
                None
            }
        }
    }

    /// The slow-down's delay for a held CONNECT is over: it is handled now, and checked.
    pub(super) fn resume_held(&mut self, key: usize) {
        let Some(link) = self.links.get_mut(key) else {
            return;
        };
        let Some(held) = link.extras.as_mut().and_then(|extras| extras.held.take()) else {
            return;
        };
        link.state = LinkState::AwaitingConnect;
        link.penalty_served = true;
        self.handle_connect(key, held.1);
    }

    /// CONNACK 5 / 0x87, and mosquitto's line for it.
    pub(super) fn refuse_login(&mut self, key: usize, connect: &Connect, why: &'static str) {
        let id = if connect.client_id.is_empty() {
            "<unknown>"
        } else {
            connect.client_id.as_str()
        };
        if let Some(link) = self.links.get_mut(key) {
            link.client_id = Some(id.into());
        }
        info!(target: CONNECTION_TARGET, "Client {id} disconnected, not authorised.");
        self.refuse_connect(key, Refusal::NotAuthorized(why));
    }

    /// The security settings in force.
    pub fn security(&self) -> &Security {
        &self.security
    }

    /// Takes the security settings read afresh (at startup, or on SIGHUP: see
    /// `auth::files`). Connected clients are checked again as mosquitto does: one whose
    /// password no longer validates, or an anonymous one where anonymous access is now off, is
    /// disconnected; every session gets its rights compiled from the new ACL file.
    pub fn set_auth(&mut self, security: Security) {
        let old = std::mem::replace(&mut self.security, security);
        let keys: Vec<usize> = self
            .links
            .iter()
            .filter(|(_, link)| link.state == LinkState::Connected)
            .map(|(key, _)| key)
            .collect();
        for key in keys {
            if let Err(why) = self.recheck(key, &old) {
                let name = self.links.get(key).map(|l| l.name().to_owned());
                info!(
                    "Client {} is no longer authorised after the reload: {why}",
                    name.as_deref().unwrap_or("<unknown>")
                );
                self.end_link(key, Ending::NoLongerAuthorised);
            }
        }
        self.recompile_acls();
    }

    /// Whether a connected client's login still holds under the current settings. A
    /// password is hashed again only if its user's entry changed.
    fn recheck(&self, key: usize, old: &Security) -> Result<(), &'static str> {
        let Some(link) = self.links.get(key) else {
            return Ok(());
        };
        let security = self.link_security(key);
        let credentials = link.extras.as_ref().and_then(|e| e.credentials.as_ref());
        let Some(username) = credentials.map(|c| Arc::clone(&c.username)) else {
            return match security.allow_anonymous {
                true => Ok(()),
                false => Err("anonymous clients are no longer allowed"),
            };
        };
        let Some(passwords) = &security.passwords else {
            return match security.allow_anonymous {
                true => Ok(()),
                false => Err("allow_anonymous is false and there is no password file"),
            };
        };
        let unchanged = old
            .listeners
            .get(usize::from(link.listener))
            .and_then(|l| l.passwords.as_ref())
            .is_some_and(|before| before.same_entry(passwords, &username));
        if unchanged {
            return Ok(());
        }
        let password = credentials.and_then(|c| c.password.as_deref());
        match passwords.check(&username, password) {
            true => Ok(()),
            false => Err("the password no longer validates"),
        }
    }
}
