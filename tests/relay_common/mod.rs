//! Shared by the relay tests: a test CA with leaf certificates (rcgen), real SMTP servers
//! (aiosmtpd from Debian's python3-aiosmtpd, `tests/support/smtp_relay.py`) on 127.0.0.1, and
//! the visible skip when the tools are missing (a failure under CI=true).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use jiff::{Timestamp, ToSpan};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

pub const PYTHON: &str = "/usr/bin/python3";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether the real servers and PHP are here; skips visibly, or fails under CI=true.
pub fn tools_present(test: &str) -> bool {
    let php = Command::new("php")
        .args(["-r", "exit(extension_loaded('openssl') ? 0 : 1);"])
        .status()
        .is_ok_and(|s| s.success());
    let aiosmtpd = Command::new(PYTHON)
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if php && aiosmtpd {
        return true;
    }
    let msg = format!(
        "{test}: SKIPPED: needs php-cli with openssl (found: {php}) and python3-aiosmtpd (found: {aiosmtpd}); apt-get install php-cli python3-aiosmtpd"
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}");
    }
    eprintln!("{msg}");
    false
}

pub struct Pki {
    dir: tempfile::TempDir,
    issuer: Issuer<'static, KeyPair>,
}

impl Pki {
    pub fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "maildrift relay test CA");
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), cert.pem()).unwrap();
        Pki {
            dir,
            issuer: Issuer::new(params, key),
        }
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A leaf for `names`, valid from `from` to `until` days relative to today; returns (cert, key).
    pub fn leaf(&self, label: &str, names: &[&str], from: i64, until: i64) -> (PathBuf, PathBuf) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{label} relay"));
        let day = |d: i64| {
            let date = Timestamp::now()
                .checked_add((d * 24).hours())
                .unwrap()
                .to_zoned(jiff::tz::TimeZone::UTC)
                .date();
            rcgen::date_time_ymd(date.year().into(), date.month() as u8, date.day() as u8)
        };
        params.not_before = day(from);
        params.not_after = day(until);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let (c, k) = (
            self.dir.path().join(format!("{label}.pem")),
            self.dir.path().join(format!("{label}.key")),
        );
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        (c, k)
    }
}

/// One aiosmtpd server; stopped (stdin closed, then killed) when dropped.
pub struct Relay {
    child: Child,
    pub port: u16,
}

impl Relay {
    pub fn start(tls: &str, cert: Option<&(PathBuf, PathBuf)>, auth: bool) -> Relay {
        Relay::start_with(tls, cert, auth, &[])
    }

    pub fn start_with(
        tls: &str,
        cert: Option<&(PathBuf, PathBuf)>,
        auth: bool,
        extra: &[&str],
    ) -> Relay {
        let mut cmd = Command::new(PYTHON);
        cmd.arg(root().join("tests/support/smtp_relay.py"))
            .args(["--tls", tls])
            .args(extra);
        if let Some((c, k)) = cert {
            cmd.arg("--cert").arg(c).arg("--key").arg(k);
        }
        if auth {
            cmd.arg("--auth");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start aiosmtpd");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("aiosmtpd printed its port");
        Relay { child, port }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
