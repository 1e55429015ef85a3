//! Reading the store at start: what the file holds is replayed, a torn last write is cut off,
//! and a damaged file is moved aside with a line saying what was kept and what was lost.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use log::{error, warn};

use crate::store::{self, Image};

/// Replays the file, saying what was recovered, and moves a damaged one aside.
pub(super) fn load(path: &Path, bytes: &[u8]) -> Image {
    let scan = store::scan(bytes);
    let shown = path.display();
    if scan.torn > 0 {
        warn!(
            "Store {shown}: cut off a torn last write of {} bytes",
            scan.torn
        );
    }
    let read = scan.records.len();
    let problem = scan.problem.clone();
    let image = Image::from_records(scan.records);
    if let Some(problem) = problem {
        let aside = move_aside(path);
        error!(
            "Store {shown}: {problem}; kept the {read} records before it, lost the rest; the \
             file is kept as {aside}"
        );
    }
    if image.skipped > 0 {
        warn!(
            "Store {shown}: {} records referred to state the file did not have",
            image.skipped
        );
    }
    image
}

/// Renames a damaged store to `FILE.bad-<unix time>`; says where it went.
fn move_aside(path: &Path) -> String {
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".bad-{stamp}"));
    let aside = PathBuf::from(name);
    match fs::rename(path, &aside) {
        Ok(()) => aside.display().to_string(),
        Err(e) => format!("{} (it could not be moved: {e})", path.display()),
    }
}
