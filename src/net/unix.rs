//! Unix domain socket listeners (`listener 0 PATH`): bound over the socket file a broker that
//! died left behind, never over anything else, and the file removed when the listener goes.
//!
//! A Unix socket's file stays after its process ends, and binding over an existing file fails.
//! mosquitto unlinks whatever is at the path before binding; that would also delete a regular
//! file a typo pointed at, and silently steal the socket of a broker still running. So only a
//! socket file nobody answers on is removed.

use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::sync::Arc;

use mio::net::UnixListener;

/// A bound, listening Unix socket; its file is removed when this is dropped.
#[derive(Debug)]
pub(crate) struct UnixSocketListener {
    pub(crate) socket: UnixListener,
    /// Shared with every link accepted here, which the router names by it.
    pub(crate) path: Arc<Path>,
    /// The device and inode of the file this listener created, so that dropping it never
    /// removes a file someone else has put there since.
    file: (u64, u64),
}

impl UnixSocketListener {
    pub(crate) fn bind(path: &Path) -> io::Result<UnixSocketListener> {
        remove_stale(path)?;
        let socket = UnixListener::bind(path)?;
        let metadata = std::fs::symlink_metadata(path)?;
        Ok(UnixSocketListener {
            socket,
            path: Arc::from(path),
            file: (metadata.dev(), metadata.ino()),
        })
    }
}

impl Drop for UnixSocketListener {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| m.file_type().is_socket() && (m.dev(), m.ino()) == self.file);
        // Nothing to be done about a failure while the broker stops; the next start copes
        // with a stale file anyway.
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Removes a socket file at `path` that no process listens on. A file that is not a socket,
/// or a socket that answers, is left alone and reported as the reason the bind cannot go on.
fn remove_stale(path: &Path) -> io::Result<()> {
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !metadata.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "a file that is not a socket is in the way",
        ));
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "another process is listening on it",
        )),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => std::fs::remove_file(path),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("minibroker-unix-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join(name);
        let _ = std::fs::remove_file(&path);
        path
    }

    #[test]
    fn binds_serves_and_removes_its_file() {
        let path = temp_path("serves.sock");
        let listener = UnixSocketListener::bind(&path).expect("bind");
        std::os::unix::net::UnixStream::connect(&path).expect("connect");
        drop(listener);
        assert!(!path.exists());
    }

    #[test]
    fn a_stale_socket_is_replaced_and_a_live_one_is_not() {
        let path = temp_path("stale.sock");
        // A socket file whose listener is gone, as a killed broker leaves it.
        drop(std::os::unix::net::UnixListener::bind(&path).expect("bind"));
        assert!(path.exists());
        let live = UnixSocketListener::bind(&path).expect("bind over a stale socket");
        let error = UnixSocketListener::bind(&path).expect_err("a live socket");
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
        drop(live);
        assert!(!path.exists());
    }

    #[test]
    fn a_regular_file_is_never_removed() {
        let path = temp_path("regular.sock");
        std::fs::write(&path, b"keep me").expect("write");
        let error = UnixSocketListener::bind(&path).expect_err("not a socket");
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).expect("still there"), b"keep me");
        std::fs::remove_file(&path).expect("clean up");
    }

    #[test]
    fn a_file_put_in_its_place_survives_the_drop() {
        let path = temp_path("replaced.sock");
        let listener = UnixSocketListener::bind(&path).expect("bind");
        std::fs::remove_file(&path).expect("remove");
        std::fs::write(&path, b"someone else's").expect("write");
        drop(listener);
        assert!(path.exists());
        std::fs::remove_file(&path).expect("clean up");
    }
}
