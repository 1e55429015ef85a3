//! A compacted store file being written: a temporary file beside the store, synced, renamed
//! over it and the directory synced, so the store on disk is at every instant either the old
//! file or the new one, complete.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where a snapshot is written before it replaces the store: `FILE.new`.
pub(super) fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}

/// A snapshot being written: the temporary file beside the store, renamed over it once
/// complete and synced. The first failed write is kept and reported by [`SnapshotFile::finish`].
pub(super) struct SnapshotFile {
    temp: PathBuf,
    file: File,
    len: u64,
    error: Option<io::Error>,
}

impl SnapshotFile {
    pub(super) fn create(path: &Path) -> io::Result<SnapshotFile> {
        let temp = temp_path(path);
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Sessions and messages are the users' data: readable by the broker's user alone,
            // as mosquitto creates its database.
            options.mode(0o600);
        }
        let file = options.open(&temp)?;
        Ok(SnapshotFile {
            temp,
            file,
            len: 0,
            error: None,
        })
    }

    pub(super) fn write(&mut self, bytes: &[u8]) {
        if self.error.is_none() {
            match self.file.write_all(bytes) {
                Ok(()) => self.len += bytes.len() as u64,
                Err(e) => self.error = Some(e),
            }
        }
    }

    /// Syncs the file, renames it over `path` and syncs the directory. Returns the file,
    /// positioned at its end for appending, and its length.
    pub(super) fn finish(self, path: &Path) -> io::Result<(File, u64)> {
        let SnapshotFile {
            temp,
            file,
            len,
            error,
        } = self;
        let result = match error {
            Some(e) => Err(e),
            None => file
                .sync_all()
                .and_then(|()| fs::rename(&temp, path))
                .and_then(|()| sync_directory(path)),
        };
        match result {
            Ok(()) => Ok((file, len)),
            Err(e) => {
                let _ = fs::remove_file(&temp);
                Err(e)
            }
        }
    }
}

fn sync_directory(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}
