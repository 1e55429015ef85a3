//! Configuration files for the socket tests that start `minibroker -c FILE`: a temporary
//! directory of files, and loopback ports to put in them.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A directory of configuration files, removed when dropped.
pub struct ConfDir {
    root: PathBuf,
}

impl ConfDir {
    pub fn new() -> ConfDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("minibroker-conf-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("temp dir");
        ConfDir { root }
    }

    /// Writes `contents` to `name` (which may contain directories) and returns its path.
    pub fn write(&self, name: &str, contents: &str) -> String {
        let path = self.root.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("dir");
        }
        std::fs::write(&path, contents).expect("write");
        path.display().to_string()
    }

    pub fn path(&self, name: &str) -> String {
        self.root.join(name).display().to_string()
    }

    /// Creates the directory `name` ("" for the root) for a persistence store and returns its
    /// path. Started as root, the broker drops to the `mosquitto` user, which must write it, as
    /// Debian's package makes /var/lib/mosquitto that user's.
    pub fn store_dir(&self, name: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path(name);
        std::fs::create_dir_all(&path).expect("store dir");
        let open = std::fs::Permissions::from_mode(0o777);
        std::fs::set_permissions(&path, open).expect("chmod");
        path
    }
}

impl Drop for ConfDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A loopback port that was free a moment ago: bound on port 0, read, released. The file
/// needs a real number, since mosquitto's `listener 0` means a Unix socket.
///
/// Never the same port twice in one test program: a port handed out for a broker that starts
/// later is free again until then, and the kernel may give it out once more (a home broker
/// once got its own upstream's port and bridged to itself).
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        if handed_out.insert(port) {
            return port;
        }
    }
}
