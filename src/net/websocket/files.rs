//! `http_dir`: a plain GET on a WebSockets listener answered with a file from that folder, as
//! mosquitto serves a web app beside its MQTT endpoint. The target is mapped by
//! [`crate::ws::http`]; here the path is resolved with its links and must still lie inside the
//! folder, then the file is sent in chunks as the socket takes them, and the connection closed.
//!
//! Reading a local file blocks the loop briefly, a chunk at a time, as a read of a password
//! file does; the whole answer must go within the CONNECT timeout, after which the link is
//! closed like any that never sent CONNECT.

use std::fs::File;
use std::io::{self, Read};

use log::info;

use super::{CHUNK, Phase, WebSocket};
use crate::logging::WEBSOCKETS_TARGET;
use crate::ws::HttpError;
use crate::ws::http::{file_for, file_headers, redirect};

impl WebSocket {
    /// Answers a GET (or HEAD) for `target`: the file, a redirect for a folder, or an error.
    /// Errors come back as the `io::Error` that closes the connection once the answer is sent.
    pub(super) fn answer_get(&mut self, target: &str, head: bool) -> io::Result<()> {
        let Some(root) = self.settings.http_dir.clone() else {
            return Err(self.refuse(&HttpError::NotWebSocket));
        };
        let relative = match file_for(target) {
            Ok(relative) => relative,
            Err(e) => return Err(self.refuse(&e)),
        };
        let not_found = || HttpError::NotFound(target.to_string());
        // realpath, as mosquitto does: a link inside the folder must not lead out of it.
        let path = match std::fs::canonicalize(root.join(&relative)) {
            Ok(path) if path.starts_with(&root) => path,
            Ok(_) => return Err(self.refuse(&not_found())),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                return Err(self.refuse(&HttpError::Forbidden(target.to_string())));
            }
            Err(_) => return Err(self.refuse(&not_found())),
        };
        if path.is_dir() {
            info!(target: WEBSOCKETS_TARGET, "HTTP GET {target} from {}: 302 to the folder", self.peer);
            self.out.extend_from_slice(&redirect(target));
            self.payload_start = self.out.len();
            self.phase = Phase::Ending;
            return Ok(());
        }
        let opened = File::open(&path).and_then(|file| {
            let len = file.metadata()?.len();
            Ok((file, len))
        });
        let (file, len) = match opened {
            Ok(opened) => opened,
            Err(_) => return Err(self.refuse(&HttpError::Forbidden(target.to_string()))),
        };
        info!(target: WEBSOCKETS_TARGET, "HTTP GET {target} from {}: 200, {len} bytes", self.peer);
        self.out.extend_from_slice(&file_headers(&path, len));
        self.payload_start = self.out.len();
        if head {
            self.phase = Phase::Ending;
        } else {
            self.file = Some(file);
            self.phase = Phase::Http;
        }
        Ok(())
    }

    /// The next chunk of the file into the drained send buffer; at its end the answer is
    /// complete and the connection ends. `false` when there is nothing more to send.
    pub(super) fn refill_file(&mut self) -> io::Result<bool> {
        let Some(file) = self.file.as_mut() else {
            self.phase = Phase::Ending;
            return Ok(false);
        };
        self.out.resize(CHUNK, 0);
        let n = loop {
            match file.read(&mut self.out) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => break other,
            }
        };
        let n = match n {
            Ok(n) => n,
            // The headers promised a length; all that is left is to stop.
            Err(e) => {
                self.out.clear();
                return Err(e);
            }
        };
        self.out.truncate(n);
        // None of it is the caller's output.
        self.payload_start = self.out.len();
        if n == 0 {
            self.file = None;
            self.phase = Phase::Ending;
        }
        Ok(n > 0)
    }
}
