//! Relay facts side by side: what `diff` shows and what `same_relay`/`separate_relay` check.

use std::collections::BTreeSet;

use super::EnvironmentRelay;
use super::model::subject;
use crate::findings::Finding;

/// The comparable facts of one site's relays as `name = value` lines, in smtphosts order.
/// Volatile facts (timings, greeting text, cache state) are left out: they differ on every run.
pub fn facts(r: &EnvironmentRelay) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, f) in r.relays.iter().enumerate() {
        let n = i + 1;
        let mut put = |k: &str, v: String| out.push((format!("relay {n} {k}"), v));
        put("endpoint", subject(f));
        put("mode", f.mode.clone());
        put(
            "state",
            if f.stage.is_empty() {
                "ok".into()
            } else {
                format!("failed at {}", f.stage)
            },
        );
        put("starttls", f.starttlsoffered.to_string());
        put("auth", f.authmechanisms.join(" "));
        let ext: BTreeSet<String> = f
            .extensions
            .iter()
            .filter_map(|e| e.split([' ', '=']).next())
            .map(|k| k.to_ascii_uppercase())
            .filter(|k| k != "AUTH")
            .collect();
        put("extensions", ext.into_iter().collect::<Vec<_>>().join(" "));
        put("tls", f.tls.protocol.clone());
        if f.cert.present {
            put("cert issuer", f.cert.issuer.clone());
            put("cert names", f.cert.sans.join(" "));
            put("cert verified", f.cert.verified.to_string());
        }
    }
    if let Some(o) = &r.oauth {
        out.push((
            "xoauth2 service".into(),
            format!(
                "{} exists={} enabled={} connected={}",
                o.name, o.exists, o.enabled, o.connected
            ),
        ));
    }
    out
}

/// Lines that differ between two sites' facts: (name, left, right), `None` where one side
/// has no such line.
pub fn differences(
    left: &EnvironmentRelay,
    right: &EnvironmentRelay,
) -> Vec<(String, Option<String>, Option<String>)> {
    let (l, r) = (facts(left), facts(right));
    let mut names: Vec<&String> = l.iter().map(|(k, _)| k).collect();
    for (k, _) in &r {
        if !names.contains(&k) {
            names.push(k);
        }
    }
    let get = |side: &[(String, String)], k: &str| {
        side.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    };
    names
        .into_iter()
        .filter_map(|k| {
            let (a, b) = (get(&l, k), get(&r, k));
            (a != b).then(|| (k.clone(), a, b))
        })
        .collect()
}

/// Where a relay is reached: the address connected to when known, else the host; with port.
fn endpoints(r: &EnvironmentRelay) -> BTreeSet<String> {
    r.relays
        .iter()
        .map(|f| {
            if f.address.is_empty() {
                format!("{}:{}", f.host.to_ascii_lowercase(), f.port)
            } else {
                format!("{}:{}", f.address, f.port)
            }
        })
        .collect()
}

/// MD165 for groups whose relays must be the same and are not; MD166 for groups that must
/// use separate relays and share one. Environments without facts are left out.
pub fn check_groups(
    relays: &[EnvironmentRelay],
    same: &[Vec<String>],
    separate: &[Vec<String>],
) -> Vec<Finding> {
    let find = |name: &str| relays.iter().find(|r| r.environment == name);
    let mut out = Vec::new();
    for group in same {
        let present: Vec<&EnvironmentRelay> = group.iter().filter_map(|n| find(n)).collect();
        let Some((first, rest)) = present.split_first() else {
            continue;
        };
        for other in rest {
            let diffs = differences(first, other);
            if diffs.is_empty() {
                continue;
            }
            let shown: Vec<String> = diffs
                .iter()
                .take(3)
                .map(|(k, a, b)| {
                    format!(
                        "{k}: {} vs {}",
                        a.as_deref().unwrap_or("-"),
                        b.as_deref().unwrap_or("-")
                    )
                })
                .collect();
            out.push(
                Finding::new(
                    &super::RELAY_DIFFERS,
                    format!(
                        "{} and {} must use the same relay, but what their relays offer differs ({} fact(s)): {}.",
                        first.environment,
                        other.environment,
                        diffs.len(),
                        shown.join("; ")
                    ),
                )
                .env(other.environment.clone())
                .subject("relay")
                .expected(format!("the relay facts of {}", first.environment))
                .actual(format!("{} differing fact(s)", diffs.len())),
            );
        }
    }
    for group in separate {
        let present: Vec<&EnvironmentRelay> = group.iter().filter_map(|n| find(n)).collect();
        for (i, a) in present.iter().enumerate() {
            for b in &present[i + 1..] {
                let shared: Vec<String> =
                    endpoints(a).intersection(&endpoints(b)).cloned().collect();
                if shared.is_empty() {
                    continue;
                }
                out.push(
                    Finding::new(
                        &super::RELAY_SHARED,
                        format!(
                            "{} and {} must use separate relays, but both reach {}.",
                            a.environment,
                            b.environment,
                            shared.join(", ")
                        ),
                    )
                    .env(b.environment.clone())
                    .subject("relay")
                    .expected(format!("a relay other than {}'s", a.environment))
                    .actual(shared.join(", ")),
                );
            }
        }
    }
    out
}
