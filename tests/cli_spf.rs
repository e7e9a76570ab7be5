//! `maildrift spf IP DOMAIN` against a real DNS server on 127.0.0.1 serving tests/zones.

#[path = "support/dns_server.rs"]
mod dns_server;

use assert_cmd::Command;
use dns_server::*;
use predicates::prelude::*;

/// The server runs on its own runtime while the command runs as a child process.
fn serve() -> (tokio::runtime::Runtime, DnsServer) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let server = rt.block_on(start_files(ALL_ZONES, Faults::default()));
    (rt, server)
}

fn spf(server: &DnsServer, args: &[&str]) -> assert_cmd::assert::Assert {
    let dir = tempfile::tempdir().expect("tempdir");
    Command::cargo_bin("maildrift")
        .expect("binary")
        .current_dir(dir.path())
        .args(["spf", "--dns-server", &server.addr.to_string()])
        .args(args)
        .assert()
}

#[test]
fn address_inside_the_org_range_passes_with_the_deciding_term_and_trace() {
    let (_rt, server) = serve();
    spf(&server, &["192.0.2.25", "campus.ac.uk"])
        .code(0)
        .stdout(predicate::str::starts_with(
            "SPF pass for 192.0.2.25 sending as postmaster@campus.ac.uk",
        ))
        .stdout(predicate::str::contains(
            "decided by: campus.ac.uk: +ip4:192.0.2.0/27",
        ))
        .stdout(predicate::str::contains("ip4:192.0.2.0/27 → match → pass"));
}

#[test]
fn address_outside_every_range_fails_by_dash_all_and_exits_2() {
    let (_rt, server) = serve();
    spf(&server, &["203.0.113.5", "campus.ac.uk"])
        .code(2)
        .stdout(predicate::str::starts_with("SPF fail for 203.0.113.5"))
        .stdout(predicate::str::contains("decided by: campus.ac.uk: -all"))
        .stdout(predicate::str::contains(
            "include:_spf.campus.ac.uk → no match",
        ));
}

#[test]
fn helo_name_reaches_the_h_macro() {
    let (_rt, server) = serve();
    // 203.0.113.9 is in no range; only `exists:%{h}._helo…` can match, and only for this HELO.
    let args = [
        "203.0.113.9",
        "macro.campus.ac.uk",
        "--sender",
        "noreply@macro.campus.ac.uk",
    ];
    spf(&server, &[&args[..], &["--helo", "relay.campus.ac.uk"]].concat())
        .code(0)
        .stdout(predicate::str::contains(
            "sending as noreply@macro.campus.ac.uk (domain macro.campus.ac.uk, HELO relay.campus.ac.uk)",
        ))
        .stdout(predicate::str::contains(
            "decided by: macro.campus.ac.uk: +exists:%{h}._helo.campus.ac.uk",
        ));
    // Without it all three exists: come back empty: over the void-lookup limit (RFC 7208 §4.6.4).
    spf(&server, &args)
        .code(2)
        .stdout(predicate::str::starts_with("SPF permerror"))
        .stdout(predicate::str::contains("void lookups: 3 of 2"));
}

#[test]
fn sender_local_part_reaches_the_l_macro() {
    let (_rt, server) = serve();
    spf(
        &server,
        &[
            "203.0.113.9",
            "macro.campus.ac.uk",
            "--sender",
            "bounce@macro.campus.ac.uk",
        ],
    )
    .code(0)
    .stdout(predicate::str::contains("+exists:%{l}._lp.%{o}"));
}

#[test]
fn include_of_a_name_that_cannot_exist_is_permerror_but_a_normal_one_is_looked_up() {
    let (_rt, server) = serve();
    let long = format!("{}@badinclude.campus.ac.uk", "x".repeat(64));
    spf(
        &server,
        &["192.0.2.25", "badinclude.campus.ac.uk", "--sender", &long],
    )
    .code(2)
    .stdout(predicate::str::starts_with("SPF permerror"));
    // A short local part gives a name that merely does not exist: also permerror (no SPF
    // record at the include target, RFC 7208 §5.2), decided at the lookup.
    spf(
        &server,
        &[
            "192.0.2.25",
            "badinclude.campus.ac.uk",
            "--sender",
            "x@badinclude.campus.ac.uk",
        ],
    )
    .code(2)
    .stdout(predicate::str::starts_with("SPF permerror"))
    .stdout(predicate::str::contains("x.campus.ac.uk: no SPF record"));
}

#[test]
fn ipv4_mapped_ipv6_client_is_judged_as_its_ipv4_address() {
    let (_rt, server) = serve();
    spf(&server, &["::ffff:192.0.2.25", "campus.ac.uk"])
        .code(0)
        .stdout(predicate::str::contains("SPF pass"));
}

#[test]
fn zone_file_offline_answers_without_any_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zone = zone_path("campus.ac.uk.zone");
    Command::cargo_bin("maildrift")
        .expect("binary")
        .current_dir(dir.path())
        .args(["spf", "192.0.2.25", "campus.ac.uk", "--offline", "--zone"])
        .arg(&zone)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "decided by: campus.ac.uk: +ip4:192.0.2.0/27",
        ));
    Command::cargo_bin("maildrift")
        .expect("binary")
        .current_dir(dir.path())
        .args(["spf", "192.0.2.25", "campus.ac.uk", "--offline"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("give at least one --zone FILE"))
        .stderr(predicate::str::contains("--no-dns").not());
}

#[test]
fn not_an_address_is_a_usage_error_naming_it() {
    let (_rt, server) = serve();
    spf(&server, &["relay.campus.ac.uk", "campus.ac.uk"])
        .code(1)
        .stderr(predicate::str::contains(
            "`relay.campus.ac.uk` is not an IP address",
        ));
}

#[test]
fn unreachable_dns_is_temperror_and_exit_1() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let server = rt.block_on(start_files(
        ALL_ZONES,
        Faults {
            servfail: vec!["campus.ac.uk".into()],
            ..Faults::default()
        },
    ));
    spf(&server, &["192.0.2.25", "campus.ac.uk"])
        .code(1)
        .stdout(predicate::str::starts_with("SPF temperror"));
}
