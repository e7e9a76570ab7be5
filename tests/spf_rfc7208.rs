//! The openspf RFC 7208 test suite (tests/fixtures/spf), each scenario's zone served by a real
//! DNS server on loopback, every case run through the SPF evaluator whose verdict maildrift
//! reports, through `spf::check_mail_from` (what `maildrift spf` and `check` call). Prints the
//! score (`cargo test --test spf_rfc7208 -- --nocapture`); fails on any miss.

#[path = "support/dns_server.rs"]
mod dns_server;

use std::net::IpAddr;

use dns_server::*;
use hickory_server::proto::rr::rdata::{A, AAAA, CNAME, MX, PTR, TXT};
use hickory_server::proto::rr::{Name, RData, Record, RecordType};
use maildrift::dns::Ctx;
use maildrift::dns::spf;
use yaml_rust2::{Yaml, YamlLoader};

struct Case {
    id: String,
    spec: String,
    helo: String,
    host: String,
    mailfrom: String,
    /// The first is preferred; any is acceptable.
    results: Vec<String>,
    explanation: Option<String>,
}

struct Scenario {
    description: String,
    records: Vec<Record>,
    /// Names that time out, with the types that still answer (listed before `TIMEOUT`).
    timeouts: Vec<(String, Vec<RecordType>)>,
    cases: Vec<Case>,
}

fn text(y: &Yaml) -> String {
    match y {
        Yaml::String(s) | Yaml::Real(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        _ => String::new(),
    }
}

/// Any bytes as labels: the suite has names no master file or strict parser accepts. `None`
/// for names DNS cannot carry (empty inner labels); an empty name is the root (null MX).
fn name(s: &str) -> Option<Name> {
    let s = s.trim_end_matches('.');
    if s.is_empty() {
        return Some(Name::root());
    }
    let mut n = Name::from_labels(s.split('.').map(str::as_bytes)).ok()?;
    n.set_fqdn(true);
    Some(n)
}

fn strings(y: &Yaml) -> Vec<String> {
    match y {
        Yaml::Array(v) => v.iter().map(text).collect(),
        other => vec![text(other)],
    }
}

fn load() -> Vec<Scenario> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/spf/rfc7208-tests.yml"
    );
    let src = std::fs::read_to_string(path).expect("suite file");
    let docs = YamlLoader::load_from_str(&src).expect("suite parses");
    let mut out = Vec::new();
    for doc in docs {
        let description = text(&doc["description"]);
        let mut records = Vec::new();
        let mut timeouts = Vec::new();
        for (owner, rrs) in doc["zonedata"].as_hash().expect("zonedata") {
            let owner = text(owner);
            let Some(n) = name(&owner) else {
                eprintln!("  zone: {owner} cannot exist in DNS; not served");
                continue;
            };
            let rrs = rrs.as_vec().cloned().unwrap_or_default();
            // Like the suite's drivers: SPF entries become TXT unless the name has TXT.
            let has_txt = rrs.iter().any(|r| !r["TXT"].is_badvalue());
            let mut answered = Vec::new();
            for rr in &rrs {
                if text(rr) == "TIMEOUT" {
                    timeouts.push((owner.clone(), answered.clone()));
                    continue;
                }
                let Some(h) = rr.as_hash() else { continue };
                for (t, v) in h {
                    let rdata = match text(t).as_str() {
                        "A" => RData::A(A(text(v).parse().expect("A"))),
                        "AAAA" => RData::AAAA(AAAA(text(v).parse().expect("AAAA"))),
                        "MX" => {
                            let v = v.as_vec().expect("MX pair");
                            let pref = v[0].as_i64().expect("MX preference") as u16;
                            RData::MX(MX::new(pref, name(&text(&v[1])).expect("MX name")))
                        }
                        "PTR" => RData::PTR(PTR(name(&text(v)).expect("PTR name"))),
                        "CNAME" => RData::CNAME(CNAME(name(&text(v)).expect("CNAME name"))),
                        "TXT" | "SPF" if text(t) == "TXT" || !has_txt => {
                            let s = strings(v);
                            // `NONE` marks "no record"; a TXT without strings cannot be sent.
                            if s == ["NONE"] || s.is_empty() {
                                continue;
                            }
                            RData::TXT(TXT::new(s))
                        }
                        _ => continue,
                    };
                    answered.push(rdata.record_type());
                    records.push(Record::from_rdata(n.clone(), 300, rdata));
                }
            }
        }
        let mut cases = Vec::new();
        for (id, t) in doc["tests"].as_hash().expect("tests") {
            cases.push(Case {
                id: text(id),
                spec: strings(&t["spec"]).join(", "),
                helo: text(&t["helo"]),
                host: text(&t["host"]),
                mailfrom: text(&t["mailfrom"]),
                results: strings(&t["result"]),
                explanation: (!t["explanation"].is_badvalue()).then(|| text(&t["explanation"])),
            });
        }
        out.push(Scenario {
            description,
            records,
            timeouts,
            cases,
        });
    }
    out
}

#[derive(Default)]
struct Score {
    mail_from: (usize, usize),
    helo: (usize, usize),
    misses: Vec<String>,
}

async fn run() -> Score {
    let mut score = Score::default();
    for sc in load() {
        let server = start_records(
            sc.records.clone(),
            Faults {
                servfail_exact: sc.timeouts.clone(),
                ..Faults::default()
            },
        )
        .await;
        for c in &sc.cases {
            // A fresh resolver per case: each case is a separate SMTP session.
            let resolver = resolver_for(server.addr);
            let ctx = Ctx::new(&resolver);
            let ip: IpAddr = c.host.parse().expect("host address");
            // The null sender is checked as postmaster@ the HELO name (RFC 7208 §2.4).
            let e = spf::check_mail_from(&ctx, ip, &c.mailfrom, &c.helo).await;
            let got = e.verdict.as_str().to_string();
            // The suite's driver sets "DEFAULT" as the receiver's own explanation.
            let exp = e.explanation.unwrap_or_else(|| "DEFAULT".into());
            let ok =
                c.results.contains(&got) && c.explanation.as_ref().is_none_or(|want| *want == exp);
            let bucket = if c.mailfrom.is_empty() {
                &mut score.helo
            } else {
                &mut score.mail_from
            };
            bucket.1 += 1;
            if ok {
                bucket.0 += 1;
            } else {
                score.misses.push(format!(
                    "{} / {} ({}): want {}{}, got {got}{}",
                    sc.description,
                    c.id,
                    c.spec,
                    c.results.join("|"),
                    c.explanation
                        .as_ref()
                        .map(|e| format!(" exp \"{e}\""))
                        .unwrap_or_default(),
                    if c.explanation.is_some() {
                        format!(" exp \"{exp}\"")
                    } else {
                        String::new()
                    }
                ));
            }
        }
        server.stop().await;
    }
    score
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rfc7208_suite_case_gets_the_result_the_rfc_requires() {
    let s = run().await;
    for m in &s.misses {
        eprintln!("  miss: {m}");
    }
    eprintln!(
        "rfc7208: {} of {} MAIL FROM cases pass; {} of {} HELO cases (null sender, checked as \
         postmaster@HELO) pass",
        s.mail_from.0, s.mail_from.1, s.helo.0, s.helo.1
    );
    assert!(s.mail_from.1 >= 200 && s.helo.1 >= 3, "the whole suite ran");
    assert!(s.misses.is_empty(), "{} cases missed", s.misses.len());
}
