//! What to ask DNS about, derived from one environment's settings and the policy.

use crate::snapshot::Snapshot;

use super::policy::DnsPolicy;

/// One `smtphosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayHost {
    pub host: String,
    pub port: Option<u16>,
}

/// The names and addresses the DNS checks look at for one environment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Targets {
    pub noreply: Option<String>,
    pub noreply_domain: Option<String>,
    /// Domains Moodle puts in From: the noreply domain, plain `allowedemaildomains`
    /// entries, then the policy's `sender_domains`; lower case, no duplicates.
    pub from_domains: Vec<String>,
    /// MAIL FROM: `noreplyaddress`, or `mailprefix@maildomain` with `handlebounces`.
    /// Moodle appends a per-message token to `mailprefix`; `%{l}` is judged without it.
    pub envelope_sender: Option<String>,
    pub envelope_domain: Option<String>,
    pub relays: Vec<RelayHost>,
    /// Host of the site URL: where PHP mail() sends from when smtphosts is empty.
    pub web_host: Option<String>,
    /// `emaildkimselector`, trimmed; empty when DKIM signing is off.
    pub selector: String,
}

fn domain_of(address: &str) -> Option<String> {
    let (local, domain) = address.trim().rsplit_once('@')?;
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    (!local.is_empty() && domain.contains('.') && !domain.contains(char::is_whitespace))
        .then_some(domain)
}

pub fn derive(snapshot: &Snapshot, policy: &DnsPolicy) -> Targets {
    let noreply =
        Some(snapshot.value("noreplyaddress").trim().to_string()).filter(|s| !s.is_empty());
    let noreply_domain = noreply.as_deref().and_then(domain_of);
    let mut from_domains: Vec<String> = Vec::new();
    let mut add = |d: &str| {
        let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
        if !d.is_empty() && d.contains('.') && !from_domains.contains(&d) {
            from_domains.push(d);
        }
    };
    if let Some(d) = &noreply_domain {
        add(d);
    }
    for line in snapshot.value("allowedemaildomains").lines() {
        let line = line.trim();
        // `*.example.org` and `.example.org` allow any subdomain; there is no single name to ask.
        if line.starts_with('*') || line.starts_with('.') {
            continue;
        }
        add(line);
    }
    for d in &policy.sender_domains {
        add(d);
    }
    let (envelope_sender, envelope_domain) = if snapshot.flag("handlebounces") {
        let domain = snapshot
            .value("maildomain")
            .trim()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let prefix = snapshot.value("mailprefix").trim();
        if domain.contains('.') {
            let local = if prefix.is_empty() { "mdl" } else { prefix };
            (Some(format!("{local}@{domain}")), Some(domain))
        } else {
            (noreply.clone(), noreply_domain.clone())
        }
    } else {
        (noreply.clone(), noreply_domain.clone())
    };
    let relays = snapshot
        .value("smtphosts")
        .split(';')
        .filter_map(parse_relay)
        .collect();
    let web_host = url::Url::parse(snapshot.url.trim()).ok().and_then(|u| {
        u.host_str()
            .map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase())
    });
    Targets {
        noreply,
        noreply_domain,
        from_domains,
        envelope_sender,
        envelope_domain,
        relays,
        web_host,
        selector: snapshot.value("emaildkimselector").trim().to_string(),
    }
}

/// `host`, `host:port`, `[v6]:port`, with PHPMailer's optional `tls://`/`ssl://` prefix.
pub fn parse_relay(entry: &str) -> Option<RelayHost> {
    let mut e = entry.trim();
    if let Some((_, rest)) = e.split_once("://") {
        e = rest;
    }
    if e.is_empty() {
        return None;
    }
    if let Some(rest) = e.strip_prefix('[') {
        let (host, tail) = rest.split_once(']')?;
        let port = tail.strip_prefix(':').and_then(|p| p.parse().ok());
        return Some(RelayHost {
            host: host.to_string(),
            port,
        });
    }
    match e.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => Some(RelayHost {
            host: h.to_ascii_lowercase(),
            port: p.parse().ok(),
        }),
        _ => Some(RelayHost {
            host: e.to_ascii_lowercase(),
            port: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_entries_keep_host_and_port() {
        assert_eq!(
            parse_relay(" tls://smtp.example.org:587 "),
            Some(RelayHost {
                host: "smtp.example.org".into(),
                port: Some(587)
            })
        );
        assert_eq!(
            parse_relay("[2001:db8::25]:25").unwrap().host,
            "2001:db8::25"
        );
        assert_eq!(parse_relay("2001:db8::25").unwrap().host, "2001:db8::25");
        assert_eq!(parse_relay("  "), None);
    }
}
