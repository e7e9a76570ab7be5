//! History benchmark: a year of nightly runs of a 500-environment fleet recorded into a store
//! (benches/support/year.rs), then
//! - the time one run takes to record (compare with the previous run, the latest setting
//!   changes, record) on the full store, against the time of `maildrift check` itself on 500
//!   snapshot files with and without `--history`;
//! - `maildrift history ENV --setting NAME` and `maildrift page --month` on that store
//!   (process start included);
//! - the store's size per run.
//!
//! Run with `cargo bench --bench history` (or `bash benches/run.sh`). `HISTORY_SITES` (500)
//! and `HISTORY_NIGHTS` (365) change the size.

#[path = "support/year.rs"]
mod year;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use maildrift::history::{RunInput, RunKind, Store};
use maildrift::report::changes::apply;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn bin() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("bench path");
    // target/release/deps/history-… → target/release/maildrift
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    dir.join("maildrift")
}

fn timed(c: &mut Command) -> Duration {
    let start = Instant::now();
    let out = c.output().expect("run maildrift");
    let took = start.elapsed();
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "{:?}: {}",
        c,
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// Records one night as `check --history` does; returns how long it took.
fn record(store: &mut Store, sites: usize, night: u32) -> Duration {
    let mut report = year::report(sites, night);
    let settings = year::settings(sites, night);
    let start = Instant::now();
    let prior = store.prior(&report).expect("prior");
    apply(&mut report, prior.as_ref(), true);
    for (env, values) in &settings {
        store
            .latest_changes(env, values, report.generated_at)
            .expect("latest changes");
    }
    store
        .record(&RunInput {
            kind: RunKind::Check,
            report: &report,
            settings,
        })
        .expect("record");
    start.elapsed()
}

fn main() {
    let sites = env_or("HISTORY_SITES", 500) as usize;
    let nights = env_or("HISTORY_NIGHTS", 365) as u32;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("history.sqlite");
    let mut store = Store::open(&path).expect("open");

    let fill = Instant::now();
    let mut per_run = Vec::new();
    for night in 0..nights {
        per_run.push(record(&mut store, sites, night));
    }
    let fill = fill.elapsed();
    let last: Vec<Duration> = per_run[per_run.len().saturating_sub(30)..].to_vec();
    drop(store);
    // Checkpoint the WAL so the file size is the store's size.
    let conn = rusqlite::Connection::open(&path).expect("reopen");
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .expect("checkpoint");
    drop(conn);
    let size = std::fs::metadata(&path).expect("size").len();

    println!("history: {sites} environments × {nights} nightly runs");
    println!(
        "  filled in {:.1} s; recording one run (compare, latest changes, record) on the full store: median of the last 30 {:.0} ms",
        fill.as_secs_f64(),
        median(last.clone()).as_secs_f64() * 1000.0
    );
    println!(
        "  store: {:.1} MB, {:.1} kB per run ({:.0} bytes per environment and run)",
        size as f64 / 1e6,
        size as f64 / f64::from(nights) / 1e3,
        size as f64 / f64::from(nights) / sites as f64
    );

    // `check` of 500 environments from snapshot files, with and without recording.
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo");
    let snap: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(demo.join("snapshots/production.json")).expect("demo snapshot"),
    )
    .expect("snapshot json");
    let mut config = String::from("baseline = \"baseline.toml\"\n");
    std::fs::copy(demo.join("baseline.toml"), dir.path().join("baseline.toml")).expect("copy");
    std::fs::create_dir_all(dir.path().join("snaps")).expect("mkdir");
    for i in 0..sites {
        let name = year::name(i);
        let mut s = snap.clone();
        s["environment"] = serde_json::Value::from(name.clone());
        std::fs::write(
            dir.path().join(format!("snaps/{name}.json")),
            serde_json::to_string(&s).expect("json"),
        )
        .expect("write snapshot");
        config.push_str(&format!(
            "[environments.{name}]\nurl = \"https://{name}.example.edu\"\nsnapshot = \"snaps/{name}.json\"\n"
        ));
    }
    std::fs::write(dir.path().join("maildrift.toml"), config).expect("config");
    let check = |history: bool, night: u32| {
        let mut c = Command::new(bin());
        c.current_dir(dir.path())
            .env("MAILDRIFT_NOW", year::night_time(night).to_string())
            .args([
                "-q", "check", "--no-dns", "--format", "json", "-o", "r.json",
            ]);
        if history {
            c.args(["--history", "history.sqlite"]);
        }
        timed(&mut c)
    };
    let runs = env_or("HISTORY_CHECK_RUNS", 5) as u32;
    let without = median((0..runs).map(|_| check(false, nights)).collect());
    let with = median((0..runs).map(|i| check(true, nights + i)).collect());
    println!(
        "  check of {sites} snapshot environments (no DNS): {:.0} ms without history, {:.0} ms with (+{:.1} %)",
        without.as_secs_f64() * 1000.0,
        with.as_secs_f64() * 1000.0,
        (with.as_secs_f64() / without.as_secs_f64() - 1.0) * 100.0
    );

    let history = median(
        (0..5)
            .map(|_| {
                timed(Command::new(bin()).current_dir(dir.path()).args([
                    "history",
                    "site-010",
                    "--setting",
                    "smtphosts",
                    "--history",
                    "history.sqlite",
                ]))
            })
            .collect(),
    );
    let page = |file: &str| {
        median(
            (0..3)
                .map(|_| {
                    timed(Command::new(bin()).current_dir(dir.path()).args([
                        "page",
                        "--month",
                        "2026-06",
                        "--history",
                        "history.sqlite",
                        "--baseline",
                        "baseline.toml",
                        "-o",
                        file,
                    ]))
                })
                .collect(),
        )
    };
    let html = page("page.html");
    let md = page("page.md");
    println!(
        "  history ENV --setting NAME: {:.0} ms; page --month (12 months): {:.0} ms HTML, {:.0} ms Markdown",
        history.as_secs_f64() * 1000.0,
        html.as_secs_f64() * 1000.0,
        md.as_secs_f64() * 1000.0
    );
}
