//! Resource readings from Linux `/proc`: resident memory and CPU time of the
//! server (by pid) and of this tool. Every reading is optional so the tool
//! still runs where `/proc` is missing.

use std::time::Instant;

/// Clock ticks per second used by `/proc/<pid>/stat` (USER_HZ on Linux).
const TICKS_PER_SEC: f64 = 100.0;

/// Which process to read.
#[derive(Debug, Clone, Copy)]
pub enum Proc {
    /// This tool.
    Me,
    /// Another process by pid.
    Pid(u32),
}

impl Proc {
    /// Directory of the process under `/proc`.
    fn dir(self) -> String {
        match self {
            Proc::Me => "/proc/self".to_owned(),
            Proc::Pid(pid) => format!("/proc/{pid}"),
        }
    }
}

/// `VmRSS` of the process, in bytes.
pub fn rss_bytes(process: Proc) -> Option<u64> {
    let status = std::fs::read_to_string(format!("{}/status", process.dir())).ok()?;
    parse_vm_rss(&status)
}

/// Extracts `VmRSS` (in bytes) from the text of `/proc/<pid>/status`.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// User plus system CPU time of the process, in clock ticks.
pub fn cpu_ticks(process: Proc) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("{}/stat", process.dir())).ok()?;
    parse_cpu_ticks(&stat)
}

/// Extracts utime + stime from the text of `/proc/<pid>/stat`. The command
/// name may contain spaces, so fields are counted after its closing `)`.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_comm.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Soft limit on open files of this process, from `/proc/self/limits`.
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// CPU time of a process at one instant.
#[derive(Debug, Clone, Copy)]
pub struct CpuMark {
    ticks: Option<u64>,
    at: Instant,
}

impl CpuMark {
    /// Reads the CPU time of `process` now.
    pub fn take(process: Proc) -> Self {
        CpuMark {
            ticks: cpu_ticks(process),
            at: Instant::now(),
        }
    }

    /// CPU used between `self` and `later`, as a percentage of one core.
    pub fn share_until(&self, later: &CpuMark) -> Option<f64> {
        let used = later.ticks?.checked_sub(self.ticks?)? as f64 / TICKS_PER_SEC;
        let wall = later.at.duration_since(self.at).as_secs_f64();
        (wall > 0.0).then(|| 100.0 * used / wall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_stat() {
        let status = "Name:\therald\nVmPeak:\t  9000 kB\nVmRSS:\t    1234 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(1234 * 1024));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
        let stat =
            "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 5 0 0";
        assert_eq!(parse_cpu_ticks(stat), Some(300));
        assert_eq!(parse_cpu_ticks("garbage"), None);
    }

    #[test]
    fn reads_own_process() {
        if std::path::Path::new("/proc/self/stat").exists() {
            assert!(rss_bytes(Proc::Me).is_some_and(|b| b > 0));
            assert!(cpu_ticks(Proc::Me).is_some());
            assert!(open_files_limit().is_some());
        }
    }
}
