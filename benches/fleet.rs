//! Fleet benchmark: `maildrift pull` against 500 fake Moodle sites on loopback, each
//! answering every request after 50 ms. Reports wall time against the floor
//! (latency × ceil(sites / jobs)), against `--jobs 1`, and peak RSS.
//!
//! Run with `cargo bench --bench fleet` (or `bash benches/run.sh` for every benchmark).
//! Options through the environment: `FLEET_SITES` (500), `FLEET_LATENCY_MS` (50),
//! `FLEET_JOBS` (16), `FLEET_SERIAL=0` skips the slow `--jobs 1` run.

#[path = "../tests/support/fake_moodle.rs"]
mod fake_moodle;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fake_moodle::{FakeMoodle, FakeSite};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let sites = env_or("FLEET_SITES", 500) as usize;
    let latency = Duration::from_millis(env_or("FLEET_LATENCY_MS", 50));
    let jobs = env_or("FLEET_JOBS", 16) as usize;
    let serial = env_or("FLEET_SERIAL", 1) != 0;

    let names: Vec<String> = (0..sites).map(|i| format!("site-{i:03}")).collect();
    let fake = FakeMoodle::start(
        names
            .iter()
            .map(|n| FakeSite::production(n, TOKEN).latency(latency))
            .collect(),
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("maildrift.toml");
    let mut text = String::from("[defaults]\ntimeout = 30\n");
    for n in &names {
        let _ = write!(
            text,
            "[environments.{n}]\nurl = \"{}\"\ntoken_env = \"MAILDRIFT_FLEET_TOKEN\"\nkeyring = false\n",
            fake.url(n)
        );
    }
    std::fs::write(&config, text).expect("write config");

    let floor = latency * sites.div_ceil(jobs) as u32;
    let (wall, rss) = run(&config, jobs);
    println!(
        "fleet: {sites} sites, {} ms latency per request",
        latency.as_millis()
    );
    println!(
        "  --jobs {jobs}: {:.3} s; floor {:.3} s; ratio {:.2}× (target ≤ 1.5×); peak RSS {}",
        wall.as_secs_f64(),
        floor.as_secs_f64(),
        wall.as_secs_f64() / floor.as_secs_f64(),
        rss.map_or("n/a (no /usr/bin/time)".into(), |kb| format!(
            "{:.1} MB (target < 40 MB)",
            kb as f64 / 1024.0
        )),
    );
    if serial {
        let (wall1, _) = run(&config, 1);
        println!(
            "  --jobs 1: {:.3} s; --jobs {jobs} is {:.1}× faster",
            wall1.as_secs_f64(),
            wall1.as_secs_f64() / wall.as_secs_f64()
        );
    }
}

/// Runs one pull of the whole fleet; returns wall time and peak RSS in kB.
fn run(config: &Path, jobs: usize) -> (Duration, Option<u64>) {
    let bin = env!("CARGO_BIN_EXE_maildrift");
    let time = Path::new("/usr/bin/time");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-v").arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.args(["-q", "--config"])
        .arg(config)
        .args(["pull", "--jobs", &jobs.to_string()])
        .env("MAILDRIFT_FLEET_TOKEN", TOKEN);
    let started = Instant::now();
    let out = cmd.output().expect("run maildrift");
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "maildrift pull failed: {stderr}");
    let rss = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok());
    (wall, rss)
}
