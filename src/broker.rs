//! The embedding façade: bind the listeners, then run the broker on the calling thread or on a
//! background thread behind a [`BrokerHandle`].
//!
//! Binding is separate from running so a program learns about a taken port before it commits to
//! a thread, and so a broker on port 0 can report its real port before the first client comes.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use log::{info, warn};
use mio::{Poll, Waker};

use crate::auth::{self, Security};
use crate::config::{Config, ConfigError, ListenerKind};
use crate::disk::{self, Store};
use crate::net::{self, Listener, Reactor, TlsServer};
use crate::router::Router;
use crate::store::Image;

pub use crate::net::{BindError, ReloadHook, TlsError};

/// A broker whose listeners are bound, ready to run.
///
/// ```
/// use minibroker::{Broker, Config};
///
/// let config = Config {
///     listeners: vec!["127.0.0.1:0".parse()?],
///     ..Config::default()
/// };
/// let broker = Broker::bind(config)?;
/// assert_ne!(broker.local_addrs()[0].port(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Broker {
    config: Config,
    poll: Poll,
    listeners: Vec<Listener>,
    tls: Option<TlsServer>,
    /// The password and ACL files, read at bind time.
    security: Security,
    /// The persistence store and what it held, when persistence is on.
    store: Option<(Store, Image)>,
    /// The bridges to other brokers, their TLS files read at bind time.
    bridges: Vec<net::Outgoing>,
    waker: Arc<Waker>,
    stop: Arc<AtomicBool>,
}

/// How [`Broker::run_with`] runs the broker.
#[derive(Default)]
pub struct RunOptions {
    handle_signals: bool,
    reload: Option<ReloadHook>,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("handle_signals", &self.handle_signals)
            .field("reload", &self.reload.is_some())
            .finish()
    }
}

impl RunOptions {
    /// Stop on SIGINT and SIGTERM, and reload on SIGHUP (the TLS certificate from the same
    /// files, and the configuration from the [`RunOptions::on_reload`] hook). Off by default: a
    /// library must not take the host program's signals; the `minibroker` command turns it on.
    pub fn handle_signals(mut self, on: bool) -> RunOptions {
        self.handle_signals = on;
        self
    }

    /// Where a SIGHUP gets the new configuration. What the broker takes from it is what
    /// mosquitto takes on reload, and more: every limit, queue and session setting, from the
    /// next packet on; listeners stay as they were bound.
    pub fn on_reload(mut self, hook: ReloadHook) -> RunOptions {
        self.reload = Some(hook);
        self
    }
}

impl Broker {
    /// Checks `config`, loads the TLS certificate if a listener needs it, reads the password
    /// and ACL files, and binds every listener; on error nothing stays bound.
    pub fn bind(config: Config) -> Result<Broker, BindError> {
        config.validate().map_err(BindError::Config)?;
        if config.listeners.len() > net::MAX_LISTENERS {
            let message = format!("at most {} listeners", net::MAX_LISTENERS);
            return Err(BindError::Config(ConfigError::new("listeners", message)));
        }
        let tls = load_tls(&config)?;
        let security = auth::files::load(&config).map_err(BindError::Security)?;
        let bridges = net::load_bridges(&config, Instant::now())?;

        let listeners = net::bind_all(&config)?;
        let poll = Poll::new().map_err(BindError::Poll)?;
        let waker = Waker::new(poll.registry(), net::WAKER).map_err(BindError::Poll)?;
        Ok(Broker {
            config,
            poll,
            listeners,
            tls,
            security,
            store: None,
            bridges,
            waker: Arc::new(waker),
            stop: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The TCP addresses actually listened on, with the ports the kernel chose for port 0: the
    /// plain ones first, then the TLS ones. Unix socket listeners come after them all and have
    /// no address here; their paths are in the configuration.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(Listener::tcp_addr)
            .collect()
    }

    /// The addresses of the listeners of one kind.
    pub fn local_addrs_of(&self, kind: ListenerKind) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter(|l| l.kind == kind)
            .filter_map(Listener::tcp_addr)
            .collect()
    }

    /// Runs the broker on this thread until the process ends; signals are left alone.
    /// Reads the persistence store, when persistence is on; a damaged file is moved aside and
    /// what could be read is kept, so this fails only for a file or directory that cannot be
    /// read or written at all. `run` does it if the program has not: the `minibroker` command
    /// calls it after dropping privileges, so the store belongs to the user the broker runs as.
    /// No client is served before the store is loaded.
    pub fn open_store(&mut self) -> Result<(), BindError> {
        if self.config.persistence.enabled && self.store.is_none() {
            let opened = Store::open(&self.config.persistence).map_err(BindError::Store)?;
            self.store = Some(opened);
        }
        Ok(())
    }

    pub fn run(self) -> io::Result<()> {
        self.run_with(RunOptions::default())
    }

    /// Runs the broker on this thread. With [`RunOptions::handle_signals`], SIGINT or SIGTERM
    /// closes every connection and returns `Ok`.
    ///
    /// ```no_run
    /// use minibroker::{Broker, Config, RunOptions};
    ///
    /// let broker = Broker::bind(Config::default())?;
    /// broker.run_with(RunOptions::default().handle_signals(true))?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_with(mut self, options: RunOptions) -> io::Result<()> {
        self.open_store()
            .map_err(|e| io::Error::other(e.to_string()))?;
        // Logged only once signals are handled: a script that waits for "listening on" and
        // then sends SIGTERM must not find the default action still in place.
        let addrs = self.local_addrs();
        let labels: Vec<&str> = self.listeners.iter().map(Listener::label).collect();
        let mut router = Router::new(&self.config);
        router.set_auth(self.security);
        let store = self
            .store
            .map(|(store, image)| restore(store, &image, &mut router));
        let mut reactor = Reactor::new(
            self.poll,
            self.listeners,
            router,
            self.tls,
            self.stop,
            options.handle_signals,
            options.reload,
        )?
        .with_store(store);
        // After the store's sessions are back, so a bridge resumes its own.
        reactor.start_bridges(self.bridges, Instant::now());
        for (addr, label) in addrs.iter().zip(labels) {
            info!("listening on {addr}{label}");
        }
        if addrs.iter().any(|a| a.ip().is_unspecified()) && self.config.allow_anonymous {
            warn!("anonymous clients are allowed and the broker listens on all interfaces");
        }
        reactor.run()
    }

    /// Runs the broker on a background thread; the handle stops it.
    ///
    /// ```
    /// use minibroker::{Broker, Config};
    ///
    /// let config = Config {
    ///     listeners: vec!["127.0.0.1:0".parse()?],
    ///     ..Config::default()
    /// };
    /// let handle = Broker::bind(config)?.spawn();
    /// println!("MQTT on {:?}", handle.local_addrs());
    /// handle.stop()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Panics
    /// If the operating system cannot create a thread, as [`std::thread::spawn`] does.
    pub fn spawn(self) -> BrokerHandle {
        let addrs = self.local_addrs();
        let waker = Arc::clone(&self.waker);
        let stop = Arc::clone(&self.stop);
        let thread = thread::Builder::new()
            .name("minibroker".into())
            .spawn(move || self.run())
            .unwrap_or_else(|e| panic!("cannot start the broker thread: {e}"));
        BrokerHandle {
            addrs,
            waker,
            stop,
            thread: Some(thread),
        }
    }
}

/// A broker running on a background thread. Dropping the handle stops the broker too.
#[derive(Debug)]
pub struct BrokerHandle {
    addrs: Vec<SocketAddr>,
    waker: Arc<Waker>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl BrokerHandle {
    /// The addresses the broker listens on.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.addrs.clone()
    }

    /// Closes every connection, stops the broker and waits for its thread to end; returns the
    /// error that ended the broker early, if one did.
    pub fn stop(mut self) -> io::Result<()> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> io::Result<()> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        self.stop.store(true, Ordering::Release);
        // If waking fails the loop is already gone (it ended with an error), and join returns.
        let _ = self.waker.wake();
        match thread.join() {
            Ok(result) => result,
            Err(_) => Err(io::Error::other("the broker thread panicked")),
        }
    }
}

impl Drop for BrokerHandle {
    fn drop(&mut self) {
        if let Err(e) = self.stop_and_join() {
            warn!("broker stopped with an error: {e}");
        }
    }
}

/// The TLS listeners' certificate, read and checked before any socket is bound.
/// Loads the stored state into the router and starts the store afresh with a compacted file.
fn restore(mut store: Store, image: &Image, router: &mut Router) -> Store {
    router.enable_journal();
    let restored = router.restore(image, disk::clocks_now());
    info!(
        "Restored from {}: {} retained messages, {} sessions holding {} messages{}.",
        store.path().display(),
        restored.retained,
        restored.sessions,
        restored.deliveries,
        match restored.discarded {
            0 => String::new(),
            n => format!(" ({n} expired or unreadable ones discarded)"),
        }
    );
    store.compact(router, std::time::Instant::now());
    store
}

#[cfg(feature = "tls")]
fn load_tls(config: &Config) -> Result<Option<TlsServer>, BindError> {
    let wanted = config.listeners.iter().any(|l| l.kind == ListenerKind::Tls);
    match &config.tls {
        Some(identity) if wanted => TlsServer::load(identity).map(Some).map_err(BindError::Tls),
        _ => Ok(None),
    }
}

/// Without TLS support a TLS listener is refused by `Config::validate`.
#[cfg(not(feature = "tls"))]
fn load_tls(_config: &Config) -> Result<Option<TlsServer>, BindError> {
    Ok(None)
}
