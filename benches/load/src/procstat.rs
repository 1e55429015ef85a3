//! CPU time and resident memory of a process, read from Linux's `/proc`.
//!
//! Every figure is also given per CPU-second of the broker, which is what matters on a gateway
//! where the broker shares one small core with everything else.

use std::fs;
use std::process::Command;
use std::time::Instant;

/// The kernel's clock ticks per second, asked of `getconf` once; 100 when it cannot say (the
/// value on every common Linux build).
pub fn clock_ticks() -> f64 {
    let ticks = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse::<f64>().ok());
    ticks.filter(|t| *t > 0.0).unwrap_or(100.0)
}

/// utime + stime in ticks of `/proc/<pid>/stat` (`"self"` for this process).
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name in parentheses may hold spaces; the fields after it are plain.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the name: state is field 3 of stat(5), utime 14 and stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// VmRSS of `/proc/<pid>/status`, in kilobytes.
pub fn rss_kb(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The CPU time of the broker (when its pid is known) and of the generator over one
/// measurement window.
pub struct CpuMeter {
    ticks_per_sec: f64,
    broker: Option<String>,
    start: Instant,
    broker_start: Option<u64>,
    self_start: Option<u64>,
}

/// What a [`CpuMeter`] saw: seconds of wall clock and of CPU.
#[derive(Debug, Clone, Copy)]
pub struct CpuUse {
    pub wall: f64,
    pub broker: Option<f64>,
    pub load: Option<f64>,
}

impl CpuMeter {
    pub fn start(ticks_per_sec: f64, broker_pid: Option<u32>) -> CpuMeter {
        let broker = broker_pid.map(|p| p.to_string());
        CpuMeter {
            ticks_per_sec,
            broker_start: broker.as_deref().and_then(cpu_ticks),
            self_start: cpu_ticks("self"),
            broker,
            start: Instant::now(),
        }
    }

    pub fn stop(&self) -> CpuUse {
        let secs = |now: Option<u64>, then: Option<u64>| {
            Some(now?.saturating_sub(then?) as f64 / self.ticks_per_sec)
        };
        CpuUse {
            wall: self.start.elapsed().as_secs_f64(),
            broker: secs(
                self.broker.as_deref().and_then(cpu_ticks),
                self.broker_start,
            ),
            load: secs(cpu_ticks("self"), self.self_start),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_readable() {
        assert!(cpu_ticks("self").is_some());
        assert!(rss_kb(std::process::id()).is_some_and(|kb| kb > 0));
    }
}
