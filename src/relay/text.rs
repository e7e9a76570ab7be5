//! Relay facts as text for people (`health`, `pull --relay`).

use super::EnvironmentRelay;

/// One site's relays for people: a heading, then per relay its state, TLS, certificate and
/// AUTH, and the XOAUTH2 service.
pub fn describe(r: &EnvironmentRelay) -> String {
    let mut out = String::new();
    {
        out.push_str(&format!(
            "\nRelays of {} (probed {}{}):\n",
            r.environment,
            r.probed_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            if r.cached { ", cached" } else { "" }
        ));
        for f in &r.relays {
            let state = if !f.reachable {
                format!("unreachable ({}: {})", f.stage, f.error)
            } else if !f.stage.is_empty() {
                format!("failed at {}: {}", f.stage, f.error)
            } else {
                "ok".to_string()
            };
            out.push_str(&format!("  {}:{}  {}  {}\n", f.host, f.port, f.mode, state));
            if !f.tls.protocol.is_empty() {
                out.push_str(&format!("    TLS {} {}\n", f.tls.protocol, f.tls.cipher));
            }
            if f.cert.present {
                let until = jiff::Timestamp::from_second(f.cert.validto)
                    .map(|t| t.strftime("%Y-%m-%d").to_string())
                    .unwrap_or_default();
                out.push_str(&format!(
                    "    certificate {} (issuer {}), valid until {until}, {}\n",
                    f.cert.subject,
                    f.cert.issuer,
                    if f.cert.verified {
                        "verified"
                    } else {
                        "NOT verified"
                    }
                ));
            }
            if f.reachable {
                let auth = if f.authmechanisms.is_empty() {
                    "none".to_string()
                } else {
                    f.authmechanisms.join(" ")
                };
                out.push_str(&format!(
                    "    AUTH {auth}; STARTTLS {}\n",
                    if f.starttlsoffered {
                        "offered"
                    } else {
                        "not offered"
                    }
                ));
                // SIZE with its limit, 8BITMIME, SMTPUTF8, PIPELINING, ...: what the relay
                // announced, AUTH aside (shown above).
                let ext: Vec<&str> = f
                    .extensions
                    .iter()
                    .map(String::as_str)
                    .filter(|e| !e.to_ascii_uppercase().starts_with("AUTH"))
                    .collect();
                if !ext.is_empty() {
                    out.push_str(&format!("    extensions: {}\n", ext.join(", ")));
                }
            }
        }
        if let Some(o) = &r.oauth {
            out.push_str(&format!(
                "  XOAUTH2 service {}: {}\n",
                o.serviceid,
                if !o.exists {
                    "missing".to_string()
                } else {
                    format!(
                        "\"{}\" {}, {}{}",
                        o.name,
                        if o.enabled { "enabled" } else { "disabled" },
                        if o.connected {
                            "system account connected"
                        } else {
                            "system account NOT connected"
                        },
                        if o.refreshfailing {
                            ", token refresh failing"
                        } else {
                            ""
                        }
                    )
                }
            ));
        }
    }
    out
}
