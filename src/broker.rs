//! The embedding façade: bind the listeners, then run the broker on the calling thread, on a
//! background thread behind a [`BrokerHandle`], or turn by turn inside the host program's own
//! event loop ([`BrokerLoop`]).
//!
//! Binding is separate from running so a program learns about a taken port before it commits to
//! a thread, and so a broker on port 0 can report its real port before the first client comes.
#![deny(missing_docs)]

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Receiver;
use std::thread;
use std::time::Instant;

use log::{info, warn};
use mio::{Poll, Waker};

use crate::auth::{self, Security};
use crate::config::{Config, ConfigError, ListenerKind};
use crate::disk::{self, Store};
use crate::embed::{BrokerHandle, Command, DEFAULT_COMMAND_CAPACITY, Host, Shared};
use crate::net::{self, HOST_TOKEN, Listener, Reactor, TlsServer};
use crate::router::Router;
use crate::router::hooks::Hooks;
use crate::store::Image;

pub use crate::net::{BindError, ReloadHook, TlsError};
pub use event_loop::BrokerLoop;

mod event_loop;

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
    /// The host program's hooks, set on the [`crate::BrokerBuilder`].
    hooks: Hooks,
    /// What the handles share with the loop, and the loop's end of their requests.
    shared: Arc<Shared>,
    commands: Receiver<Command>,
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
        Broker::bind_with(config, Hooks::default(), DEFAULT_COMMAND_CAPACITY)
    }

    /// [`Broker::bind`] with the builder's hooks and request queue capacity.
    pub(crate) fn bind_with(
        config: Config,
        hooks: Hooks,
        capacity: usize,
    ) -> Result<Broker, BindError> {
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
        let addrs = listeners.iter().filter_map(Listener::tcp_addr).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let limit = config.max_packet_size;
        let (shared, commands) = Shared::new(Some(Arc::new(waker)), stop, addrs, limit, capacity);
        Ok(Broker {
            config,
            poll,
            listeners,
            tls,
            security,
            store: None,
            bridges,
            hooks,
            shared,
            commands,
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

    /// A handle to the broker, for other threads (or hooks) to publish, subscribe and stop it
    /// once it runs; requests made before it runs wait for its first turn.
    pub fn handle(&self) -> BrokerHandle {
        BrokerHandle::new(Arc::clone(&self.shared))
    }

    /// Runs the broker on this thread until it is stopped through a [`BrokerHandle`]; signals
    /// are left alone.
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
    pub fn run_with(self, options: RunOptions) -> io::Result<()> {
        self.start(options)?.run()
    }

    /// Starts the broker without running it: the returned [`BrokerLoop`] turns once per
    /// [`BrokerLoop::poll_once`], for a program that has an event loop of its own.
    pub fn into_loop(self) -> io::Result<BrokerLoop> {
        let handle = self.handle();
        let reactor = self.start(RunOptions::default())?;
        Ok(BrokerLoop {
            reactor,
            handle,
            _on_this_thread: std::marker::PhantomData,
        })
    }

    /// Opens the store, restores it into a new router, and makes the reactor with everything.
    fn start(mut self, options: RunOptions) -> io::Result<Reactor> {
        self.open_store()
            .map_err(|e| io::Error::other(e.to_string()))?;
        let addrs = self.local_addrs();
        let labels: Vec<&str> = self.listeners.iter().map(Listener::label).collect();
        let labels: Vec<String> = labels.into_iter().map(str::to_owned).collect();
        let mut router = Router::new(&self.config);
        router.set_auth(self.security);
        router.set_hooks(self.hooks);
        let store = self
            .store
            .map(|(store, image)| restore(store, &image, &mut router));
        let host = Host::new(self.commands, Arc::clone(&self.shared), HOST_TOKEN);
        let mut reactor = Reactor::new(
            self.poll,
            self.listeners,
            router,
            self.tls,
            Arc::clone(&self.shared.stop),
            options.handle_signals,
            options.reload,
        )?
        .with_store(store)
        .with_host(host);
        // After the store's sessions are back, so a bridge resumes its own.
        reactor.start_bridges(self.bridges, Instant::now());
        reactor.take_early_host_requests(Instant::now());
        // Logged only once signals are handled: a script that waits for "listening on" and
        // then sends SIGTERM must not find the default action still in place.
        for (addr, label) in addrs.iter().zip(labels) {
            info!("listening on {addr}{label}");
        }
        if addrs.iter().any(|a| a.ip().is_unspecified()) && self.config.allow_anonymous {
            warn!("anonymous clients are allowed and the broker listens on all interfaces");
        }
        if self.config.listeners.is_empty() && self.config.unix_listeners.is_empty() {
            info!("no listeners: serving the host program's in-process clients only");
        }
        let _ = self.shared.loop_thread.set(thread::current().id());
        Ok(reactor)
    }

    /// Runs the broker on a background thread; the handle (any clone of it) stops it, and so
    /// does dropping the last clone.
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
        let shared = Arc::clone(&self.shared);
        let thread = thread::Builder::new()
            .name("minibroker".into())
            .spawn(move || self.run())
            .unwrap_or_else(|e| panic!("cannot start the broker thread: {e}"));
        BrokerHandle::with_thread(shared, thread)
    }
}

/// What [`BrokerLoop::poll_once`] found.
pub use crate::net::Turn as LoopState;

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

/// The TLS listeners' certificate, read and checked before any socket is bound.
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
