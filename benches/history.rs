//! History benchmark: a year of nightly runs of a 500-environment fleet recorded into a store
//! (benches/support/year.rs), then
//! - the time one run takes to record (compare with the previous run, the latest setting
//!   changes, record) on the full store, phase by phase;
//! - `maildrift check` with and without `--history` on that store, twice: live, against 500
//!   fake Moodle sites on loopback answering after 50 ms (the nightly run the 5 % target is
//!   about), and offline from 500 snapshot files (nothing to wait for, so recording weighs
//!   far more there);
//! - `maildrift history ENV --setting NAME` and `maildrift page --month` on that store
//!   (process start included);
//! - the store's size per run.
//!
//! Run with `cargo bench --bench history` (or `bash benches/run.sh`). `HISTORY_SITES` (500),
//! `HISTORY_NIGHTS` (365), `HISTORY_CHECK_RUNS` (5 per median) and `HISTORY_LATENCY_MS` (50)
//! change the size.

#[path = "../tests/support/fake_moodle.rs"]
mod fake_moodle;
#[path = "support/year.rs"]
mod year;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fake_moodle::{FakeMoodle, FakeSite};
use maildrift::history::{RunInput, RunKind, Store};
use maildrift::report::changes::apply;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

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

/// How long one recorded night took, phase by phase.
#[derive(Clone, Copy, Default)]
struct Phases {
    /// Reading the previous run's findings and marking each finding new or persisting.
    compare: Duration,
    /// The latest setting change per environment, for the report.
    latest: Duration,
    /// Writing the run.
    write: Duration,
}

impl Phases {
    fn total(&self) -> Duration {
        self.compare + self.latest + self.write
    }
}

/// Records one night as `check --history` does.
fn record(store: &mut Store, sites: usize, night: u32) -> Phases {
    let mut report = year::report(sites, night);
    let settings = year::settings(sites, night);
    let start = Instant::now();
    let prior = store.prior(&report).expect("prior");
    apply(&mut report, prior.as_ref(), true);
    let compare = start.elapsed();
    let start = Instant::now();
    store
        .latest_changes(&settings, report.generated_at)
        .expect("latest changes");
    let latest = start.elapsed();
    let start = Instant::now();
    store
        .record(&RunInput {
            kind: RunKind::Check,
            report: &report,
            settings,
        })
        .expect("record");
    Phases {
        compare,
        latest,
        write: start.elapsed(),
    }
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
    let last: Vec<Phases> = per_run[per_run.len().saturating_sub(30)..].to_vec();
    let ms =
        |f: fn(&Phases) -> Duration| median(last.iter().map(f).collect()).as_secs_f64() * 1000.0;
    drop(store);
    // Checkpoint the WAL so the file size is the store's size.
    let conn = rusqlite::Connection::open(&path).expect("reopen");
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .expect("checkpoint");
    drop(conn);
    let size = std::fs::metadata(&path).expect("size").len();

    println!("history: {sites} environments × {nights} nightly runs");
    println!(
        "  filled in {:.1} s; recording one run on the full store, median of the last 30: {:.1} ms (compare {:.1} ms, latest changes {:.1} ms, write {:.1} ms)",
        fill.as_secs_f64(),
        ms(Phases::total),
        ms(|p| p.compare),
        ms(|p| p.latest),
        ms(|p| p.write),
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
    // The demo snapshot's settings and findings differ from the generated year's: the first
    // run recording them writes a change and an episode for each, which is not what a
    // nightly run does. Not counted.
    check(true, nights);
    let without = median((0..runs).map(|_| check(false, nights + 1)).collect());
    let with = median((0..runs).map(|i| check(true, nights + 1 + i)).collect());
    println!(
        "  check of {sites} snapshot environments (no DNS): {:.0} ms without history, {:.0} ms with (+{:.1} %)",
        without.as_secs_f64() * 1000.0,
        with.as_secs_f64() * 1000.0,
        (with.as_secs_f64() / without.as_secs_f64() - 1.0) * 100.0
    );

    // A live `check` of the same fleet: 500 fake Moodle sites on loopback answering after
    // 50 ms (as in benches/fleet.rs), settings and health read, no DNS; with and without
    // recording into the year-old store. This is the run a nightly cron makes.
    let latency = Duration::from_millis(env_or("HISTORY_LATENCY_MS", 50));
    let fake = FakeMoodle::start(
        (0..sites)
            .map(|i| FakeSite::production(&year::name(i), TOKEN).latency(latency))
            .collect(),
    );
    let mut live = String::from("baseline = \"baseline.toml\"\n[defaults]\ntimeout = 30\n");
    for i in 0..sites {
        let name = year::name(i);
        live.push_str(&format!(
            "[environments.{name}]\nurl = \"{}\"\ntoken_env = \"MAILDRIFT_BENCH_TOKEN\"\nkeyring = false\n",
            fake.url(&name)
        ));
    }
    std::fs::write(dir.path().join("live.toml"), live).expect("live config");
    let live_command = |history: bool, night: u32| {
        let mut c = Command::new(bin());
        c.current_dir(dir.path())
            .env("MAILDRIFT_NOW", year::night_time(night).to_string())
            .env("MAILDRIFT_BENCH_TOKEN", TOKEN)
            .args([
                "-q",
                "--config",
                "live.toml",
                "check",
                "--no-dns",
                "--no-relay",
                "--format",
                "json",
                "-o",
                "live.json",
            ]);
        if history {
            c.args(["--history", "history.sqlite"]);
        }
        c
    };
    let live_check = |history: bool, night: u32| timed(&mut live_command(history, night));
    // The fake's settings differ from the generated year's: the first recording writes a
    // change row for each, which is not what a nightly run does. Not counted.
    live_check(true, nights + 1 + 2 * runs);
    let live_without = median(
        (0..runs)
            .map(|_| live_check(false, nights + 1 + runs))
            .collect(),
    );
    let live_with = median(
        (0..runs)
            .map(|i| live_check(true, nights + 1 + 2 * runs + 1 + i))
            .collect(),
    );
    // Where the recording time goes inside `check`: its own log of each history step.
    let logged = live_command(true, nights + 2 + 3 * runs)
        .env("RUST_LOG", "maildrift=info")
        .output()
        .expect("run maildrift");
    let steps: Vec<String> = String::from_utf8_lossy(&logged.stderr)
        .lines()
        .filter(|l| l.contains("history:"))
        .map(|l| l.trim().to_string())
        .collect();
    println!(
        "  live check of {sites} sites ({} ms latency, settings and health, no DNS): {:.0} ms without history, {:.0} ms with (+{:.1} %)",
        latency.as_millis(),
        live_without.as_secs_f64() * 1000.0,
        live_with.as_secs_f64() * 1000.0,
        (live_with.as_secs_f64() / live_without.as_secs_f64() - 1.0) * 100.0
    );
    for step in steps {
        println!("    {step}");
    }

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
