//! Starts the `minibroker` binary on an ephemeral port, collects its log, and stops it with
//! SIGTERM when the test is over.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The broker's stderr, one entry per line, shared with the thread that reads the pipe.
type Log = Arc<(Mutex<Vec<String>>, Condvar)>;

const LISTENING: &str = "listening on 127.0.0.1:";

pub struct Broker {
    child: Option<Child>,
    addr: SocketAddr,
    log: Log,
}

impl Broker {
    /// `minibroker -b 127.0.0.1 -p 0 -v` plus `extra`; waits up to 10 s for the listening line.
    pub fn start(extra: &[&str]) -> Broker {
        Broker::start_with_env(extra, &[])
    }

    /// As [`Broker::start`], with `env` added to the broker's environment.
    pub fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Broker {
        let mut args = vec!["-b", "127.0.0.1", "-p", "0", "-v"];
        args.extend_from_slice(extra);
        Broker::start_exactly(&args, env)
    }

    /// `minibroker` with exactly `args` (a configuration file that listens on 127.0.0.1,
    /// say); waits up to 10 s for the first `listening on 127.0.0.1:` line.
    pub fn start_exactly(args: &[&str], env: &[(&str, &str)]) -> Broker {
        let mut broker = Broker::spawn(env!("CARGO_BIN_EXE_minibroker"), args, env);
        broker.addr = broker.wait_for_listening(Duration::from_secs(10));
        broker
    }

    /// Another broker program (Debian's mosquitto, say) with `args`, listening on
    /// 127.0.0.1:`port`; waits up to 10 s until that port accepts connections.
    pub fn start_program(program: &str, args: &[&str], port: u16) -> Broker {
        let mut broker = Broker::spawn(program, args, &[]);
        broker.addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(broker.addr).is_err() {
            let exited = broker
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() >= deadline {
                panic!(
                    "{program} did not listen on {port}; log:\n{}",
                    broker.logs().join("\n")
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
        broker
    }

    fn spawn(program: &str, args: &[&str], env: &[(&str, &str)]) -> Broker {
        let mut child = Command::new(program)
            .args(args)
            .envs(env.iter().copied())
            // `-v` alone decides the log level; an inherited RUST_LOG must not change it.
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let log: Log = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let writer = Arc::clone(&log);
        // Draining the pipe continuously keeps a chatty broker from blocking on a full pipe.
        thread::spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut line = Vec::new();
            while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                let text = String::from_utf8_lossy(&line).trim_end().to_string();
                writer.0.lock().unwrap().push(text);
                writer.1.notify_all();
                line.clear();
            }
        });
        Broker {
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
        }
    }

    fn wait_for_listening(&mut self, timeout: Duration) -> SocketAddr {
        let deadline = Instant::now() + timeout;
        loop {
            let port = self.logs().iter().find_map(|line| {
                let rest = &line[line.find(LISTENING)? + LISTENING.len()..];
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse::<u16>().ok()
            });
            if let Some(port) = port {
                return SocketAddr::from(([127, 0, 0, 1], port));
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                panic!(
                    "minibroker exited ({status}) before listening; log:\n{}",
                    self.logs().join("\n")
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "minibroker did not log {LISTENING:?} within {timeout:?}; log:\n{}",
                    self.logs().join("\n")
                );
            }
            self.wait_for_more_log(Duration::from_millis(100));
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The first TLS listener's address, from its `listening on 127.0.0.1:PORT (TLS)` line.
    pub fn tls_addr(&self) -> SocketAddr {
        assert!(
            self.wait_for_log(" (TLS)", Duration::from_secs(10)),
            "no TLS listener in the log:\n{}",
            self.logs().join("\n")
        );
        let port = self.logs().iter().find_map(|line| {
            let rest = line.strip_suffix(" (TLS)")?;
            let rest = &rest[rest.find(LISTENING)? + LISTENING.len()..];
            rest.parse::<u16>().ok()
        });
        SocketAddr::from(([127, 0, 0, 1], port.expect("a TLS listener on 127.0.0.1")))
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("broker running").id()
    }

    /// Sends SIGHUP, as `systemctl reload` or logrotate does.
    pub fn hang_up(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Sends SIGHUP and waits for the broker to say what it made of it (`count` reloads so
    /// far).
    pub fn reload(&self, outcome: &str, count: usize) {
        self.hang_up();
        assert!(
            self.wait_for_log_count(outcome, count, super::TIMEOUT),
            "no {outcome:?} after SIGHUP: {:#?}",
            self.logs()
        );
    }

    /// A copy of every log line so far.
    pub fn logs(&self) -> Vec<String> {
        self.log.0.lock().unwrap().clone()
    }

    /// Waits until a log line contains `needle`.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        self.wait_for_log_count(needle, 1, timeout)
    }

    /// Waits until at least `count` log lines contain `needle`.
    pub fn wait_for_log_count(&self, needle: &str, count: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let (lines, more) = &*self.log;
        let mut lines = lines.lock().unwrap();
        loop {
            if lines.iter().filter(|l| l.contains(needle)).count() >= count {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            lines = more.wait_timeout(lines, deadline - now).unwrap().0;
        }
    }

    fn wait_for_more_log(&self, timeout: Duration) {
        let (lines, more) = &*self.log;
        let guard = lines.lock().unwrap();
        let _unused = more.wait_timeout(guard, timeout).unwrap();
    }

    /// Asserts the process is still running and has not reported a panic.
    pub fn assert_alive(&mut self) {
        let child = self.child.as_mut().expect("broker running");
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!(
                "minibroker exited ({status}); log tail:\n{}",
                tail(&self.logs(), 40)
            );
        }
        let logs = self.logs();
        assert!(
            !logs.iter().any(|l| l.contains("panicked")),
            "minibroker reported a panic; log tail:\n{}",
            tail(&logs, 40)
        );
    }

    /// SIGKILL, as a crash or `kill -9` ends the broker: no shutdown code runs.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit status (killing it after that).
    pub fn stop(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "--- minibroker log tail ({}) ---\n{}",
                self.addr,
                tail(&self.logs(), 60)
            );
        }
        self.stop(Duration::from_secs(5));
    }
}

fn tail(lines: &[String], n: usize) -> String {
    lines[lines.len().saturating_sub(n)..].join("\n")
}
