//! Where log lines are written: standard error and output, a file that logrotate can move
//! (reopened on SIGHUP), the syslog socket, and the queue of lines for `$SYS/broker/log/...`.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, LineWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::kinds::Kind;
use super::line::syslog_datagram;
use super::settings::{LogDestination, LogSettings};

/// The local syslog daemon's socket.
const SYSLOG_SOCKET: &str = "/dev/log";

/// Lines waiting to be published on `$SYS/broker/log/...`. Bounded: with nobody draining it
/// (an embedded broker that never asked for the topic destination) the oldest lines go.
const TOPIC_QUEUE_LIMIT: usize = 1000;

static TOPIC_LINES: Mutex<VecDeque<(&'static str, String)>> = Mutex::new(VecDeque::new());

/// Set while the queued lines are being published: what publishing them logs is not queued
/// again, or every published line could beget another.
static PUBLISHING: AtomicBool = AtomicBool::new(false);

/// Whether the queue may hold lines, so that the loop's check after every turn costs one load
/// when nobody logs to the topic.
static QUEUED: AtomicBool = AtomicBool::new(false);

/// Hands every line logged for the topic destination to `publish`, as (topic, line), oldest
/// first. Lines logged meanwhile are not queued for the topic.
pub fn publish_topic_lines(mut publish: impl FnMut(&'static str, &str)) {
    if !QUEUED.swap(false, Ordering::Acquire) {
        return;
    }
    let lines: Vec<(&'static str, String)> = match TOPIC_LINES.lock() {
        Ok(mut lines) if !lines.is_empty() => lines.drain(..).collect(),
        _ => return,
    };
    PUBLISHING.store(true, Ordering::Relaxed);
    for (topic, line) in &lines {
        publish(topic, line);
    }
    PUBLISHING.store(false, Ordering::Relaxed);
}

pub struct Sinks {
    stderr: bool,
    stdout: bool,
    file: Option<FileSink>,
    syslog: Option<UnixDatagram>,
    topic: bool,
    facility: u8,
    pid: u32,
}

struct FileSink {
    path: PathBuf,
    writer: LineWriter<File>,
}

impl Sinks {
    /// Opens every destination of `settings`. A file that cannot be opened is reported and its
    /// lines go to standard error instead, so nothing is lost silently.
    pub fn open(settings: &LogSettings) -> (Sinks, Vec<String>) {
        let mut sinks = Sinks {
            stderr: false,
            stdout: false,
            file: None,
            syslog: None,
            topic: false,
            facility: settings.facility_code(),
            pid: std::process::id(),
        };
        let mut problems = Vec::new();
        for destination in &settings.destinations {
            match destination {
                LogDestination::Stderr => sinks.stderr = true,
                LogDestination::Stdout => sinks.stdout = true,
                LogDestination::Topic => sinks.topic = true,
                LogDestination::File(path) => match open_log_file(path) {
                    Ok(writer) => {
                        let path = path.clone();
                        sinks.file = Some(FileSink { path, writer });
                    }
                    Err(error) => {
                        problems.push(format!(
                            "Unable to open log file {}: {error}; logging to stderr instead",
                            path.display()
                        ));
                        sinks.stderr = true;
                    }
                },
                LogDestination::Syslog => match UnixDatagram::unbound() {
                    Ok(socket) => sinks.syslog = Some(socket),
                    Err(error) => problems.push(format!("Unable to open a syslog socket: {error}")),
                },
            }
        }
        (sinks, problems)
    }

    /// Reopens the log file at its path, so that after logrotate moved it lines go to a new
    /// file. On failure the old file is kept and the problem returned.
    pub fn reopen(&mut self) -> Option<String> {
        let sink = self.file.as_mut()?;
        match open_log_file(&sink.path) {
            Ok(writer) => {
                let _ = sink.writer.flush();
                sink.writer = writer;
                None
            }
            Err(error) => Some(format!(
                "Unable to reopen log file {}: {error}",
                sink.path.display()
            )),
        }
    }

    /// Writes one line everywhere. `line` carries the time stamp; syslog and the topic get
    /// `message` with its label, since they stamp lines themselves. Write errors are ignored:
    /// a full disk must not stop the broker, and there is nowhere left to report them.
    pub fn write(&mut self, kind: Kind, line: &str, message: &str) {
        if self.stderr {
            let _ = writeln!(io::stderr().lock(), "{line}");
        }
        if self.stdout {
            let _ = writeln!(io::stdout().lock(), "{line}");
        }
        if let Some(sink) = self.file.as_mut() {
            let _ = writeln!(sink.writer, "{line}");
        }
        if let Some(socket) = &self.syslog {
            let datagram = syslog_datagram(self.facility, kind, self.pid, message);
            let _ = socket.send_to(&datagram, SYSLOG_SOCKET);
        }
        if self.topic
            && !PUBLISHING.load(Ordering::Relaxed)
            && let Ok(mut lines) = TOPIC_LINES.lock()
        {
            if lines.len() >= TOPIC_QUEUE_LIMIT {
                lines.pop_front();
            }
            lines.push_back((kind.topic(), line.to_owned()));
            QUEUED.store(true, Ordering::Release);
        }
    }

    pub fn flush(&mut self) {
        if let Some(sink) = self.file.as_mut() {
            let _ = sink.writer.flush();
        }
    }
}

/// Appends, creating the file readable by its owner only, as mosquitto does.
fn open_log_file(path: &Path) -> io::Result<LineWriter<File>> {
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)?;
    Ok(LineWriter::new(file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("minibroker-log-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_rotated_file_is_replaced_on_reopen() {
        let dir = temp_dir("reopen");
        let path = dir.join("broker.log");
        let settings = LogSettings {
            destinations: vec![LogDestination::File(path.clone())],
            ..LogSettings::default()
        };
        let (mut sinks, problems) = Sinks::open(&settings);
        assert!(problems.is_empty(), "{problems:?}");
        sinks.write(Kind::Notice, "1: before", "before");
        // What logrotate does: move the file away, then signal the broker.
        fs::rename(&path, dir.join("broker.log.1")).unwrap();
        sinks.write(Kind::Notice, "2: still old", "still old");
        assert_eq!(sinks.reopen(), None);
        sinks.write(Kind::Notice, "3: after", "after");
        sinks.flush();
        let old = fs::read_to_string(dir.join("broker.log.1")).unwrap();
        assert_eq!(old, "1: before\n2: still old\n");
        assert_eq!(fs::read_to_string(&path).unwrap(), "3: after\n");
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_unopenable_file_falls_back_to_stderr() {
        let settings = LogSettings {
            destinations: vec![LogDestination::File("/nonexistent/dir/x.log".into())],
            ..LogSettings::default()
        };
        let (sinks, problems) = Sinks::open(&settings);
        assert!(sinks.stderr);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].contains("/nonexistent/dir/x.log"),
            "{problems:?}"
        );
    }
}
