//! What arrives from outside the sockets: signals (stop, reload, compact, list the
//! subscriptions) and a reload asked for by the host program.

use std::time::Instant;

use log::info;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2};

use super::Reactor;
use crate::config::Config;
use crate::router::sys_tree::SysTree;

impl Reactor {
    pub(super) fn take_signals(&mut self) {
        let Some(signals) = self.signals.as_mut() else {
            return;
        };
        for signal in signals.pending() {
            match signal {
                SIGINT | SIGTERM => {
                    let name = if signal == SIGINT {
                        "SIGINT"
                    } else {
                        "SIGTERM"
                    };
                    info!("{name} received, shutting down");
                    self.stopping = true;
                }
                SIGHUP => self.reload(),
                SIGUSR1 => {
                    if let Some(store) = self.store.as_mut() {
                        info!("SIGUSR1 received, compacting the store.");
                        store.compact(&mut self.router, Instant::now());
                    }
                }
                SIGUSR2 => {
                    let lines = self.router.subscription_lines();
                    info!("Subscriptions ({}):", lines.len());
                    for line in lines {
                        info!("  {line}");
                    }
                }
                _ => {}
            }
        }
    }

    /// SIGHUP: the configuration read afresh goes to the router, and the TLS certificate is
    /// read again from its files (mosquitto's order, reference section 1.6). A configuration
    /// that does not parse leaves everything as it was but the certificate.
    fn reload(&mut self) {
        info!("Reloading config.");
        match self.reload.as_mut().and_then(|hook| hook()) {
            Some(config) => self.apply_reload(Some(config)),
            None => {
                if let Some(tls) = self.tls.as_mut() {
                    tls.reload();
                }
            }
        }
    }

    /// Takes `config` (if any) for everything but the listeners, reads the password and ACL
    /// files again, and the TLS certificate.
    pub(super) fn apply_reload(&mut self, config: Option<Config>) {
        let config = config.unwrap_or_else(|| self.router.config().clone());
        if config.sys_interval != self.router.config().sys_interval {
            self.sys = SysTree::new(config.sys_interval, super::SYS_VERSION, Instant::now());
        }
        self.max_total = config.max_connections_total;
        self.router.reconfigure(&config);
        // The password and ACL files are read again even when unchanged: that is what
        // SIGHUP is for (reference section 1.6).
        let bound = self.router.listeners();
        let security = crate::auth::files::reload(&config, bound, self.router.security());
        self.router.set_auth(security);
        let limit = self.router.max_packet_size();
        self.max_pending_in = usize::try_from(limit).unwrap_or(usize::MAX);
        if let Some(tls) = self.tls.as_mut() {
            tls.reload();
        }
    }
}
