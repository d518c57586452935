//! Running the `arx-node` binary from tests, as an operator would.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub const BIN: &str = env!("CARGO_BIN_EXE_arx-node");

/// Starts the binary on a free loopback port with `extra` flags; returns the child and its URL.
pub fn spawn_node(data_dir: &std::path::Path, extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .split_whitespace()
        .skip_while(|w| *w != "on")
        .nth(1)
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    (child, format!("http://{addr}"))
}

/// Sends SIGTERM and waits (at most `within`) for the process to exit; returns its status and
/// how long it took.
pub fn terminate_within(
    mut child: Child,
    within: Duration,
) -> (std::process::ExitStatus, Duration) {
    let started = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    while started.elapsed() < within {
        if let Some(status) = child.try_wait().unwrap() {
            return (status, started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    panic!("arx-node did not stop within {within:?} of SIGTERM");
}

pub fn terminate(child: Child) -> std::process::ExitStatus {
    terminate_within(child, Duration::from_secs(15)).0
}

/// SIGKILL: the process gets no chance to flush anything.
pub fn kill_9(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The peak resident memory of process `pid` (VmHWM), in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}
