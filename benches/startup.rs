//! Start-up benchmark: `maildrift --version` as a fresh process, N times (after a few
//! warm-up runs that fill the page cache). Reports median, min and mean wall time.
//!
//! Run with `cargo bench --bench startup` (or `bash benches/run.sh`, which also runs
//! hyperfine when it is installed). Environment: `STARTUP_RUNS` (50).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let runs = std::env::var("STARTUP_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50usize)
        .max(1);
    let bin = env!("CARGO_BIN_EXE_maildrift");
    let once = || {
        let started = Instant::now();
        let status = Command::new(bin)
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .expect("run maildrift");
        let wall = started.elapsed();
        assert!(status.success(), "maildrift --version failed");
        wall
    };
    for _ in 0..3 {
        once();
    }
    let mut times: Vec<Duration> = (0..runs).map(|_| once()).collect();
    times.sort();
    let mean = times.iter().sum::<Duration>() / runs as u32;
    println!(
        "startup: maildrift --version, {runs} runs: median {:.2} ms, min {:.2} ms, mean {:.2} ms",
        times[runs / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        mean.as_secs_f64() * 1e3,
    );
}
