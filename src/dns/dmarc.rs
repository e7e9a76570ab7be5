//! DMARC records (RFC 7489, with DMARCbis' `t=`) and identifier alignment.

use super::policy::DmarcPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alignment {
    Relaxed,
    Strict,
}

/// A parsed `_dmarc` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub p: DmarcPolicy,
    pub sp: Option<DmarcPolicy>,
    pub pct: u8,
    /// DMARCbis `t=y`: test mode, the policy is not applied.
    pub testing: bool,
    pub adkim: Alignment,
    pub aspf: Alignment,
    pub rua: Vec<String>,
    pub ruf: Vec<String>,
    /// Why `p=` is missing or invalid when a valid `rua=` makes receivers act as if `p=none`
    /// (RFC 7489 §6.6.3); `p` is then `none`.
    pub p_fallback: Option<String>,
}

/// True for TXT strings that are DMARC records.
pub fn is_dmarc(txt: &str) -> bool {
    let t = txt.trim_start();
    t.get(..8)
        .is_some_and(|v| v.eq_ignore_ascii_case("v=DMARC1"))
        && t.get(8..)
            .is_some_and(|rest| rest.trim_start().chars().next().is_none_or(|c| c == ';'))
}

pub fn parse(txt: &str) -> Result<Record, String> {
    let mut tags = txt.split(';').map(str::trim).filter(|t| !t.is_empty());
    match tags.next() {
        Some(v) if v.replace(' ', "").eq_ignore_ascii_case("v=DMARC1") => {}
        _ => return Err("v=DMARC1 must be the first tag".into()),
    }
    let mut rec = Record {
        p: DmarcPolicy::None,
        sp: None,
        pct: 100,
        testing: false,
        adkim: Alignment::Relaxed,
        aspf: Alignment::Relaxed,
        rua: Vec::new(),
        ruf: Vec::new(),
        p_fallback: None,
    };
    let mut p_problem = Some("no p= tag".to_string());
    for tag in tags {
        let (name, value) = tag
            .split_once('=')
            .ok_or(format!("`{tag}` is not name=value"))?;
        let value = value.trim();
        let align = |v: &str| match v.to_ascii_lowercase().as_str() {
            "r" => Ok(Alignment::Relaxed),
            "s" => Ok(Alignment::Strict),
            _ => Err(format!("{name}={v} (expected r or s)")),
        };
        match name.trim().to_ascii_lowercase().as_str() {
            "p" => match DmarcPolicy::parse(value) {
                Some(p) => {
                    rec.p = p;
                    p_problem = None;
                }
                None => {
                    p_problem = Some(format!("p={value} (expected none, quarantine or reject)"))
                }
            },
            "sp" => rec.sp = Some(DmarcPolicy::parse(value).ok_or(format!("sp={value}"))?),
            "pct" => {
                rec.pct = value
                    .parse()
                    .ok()
                    .filter(|n| *n <= 100)
                    .ok_or(format!("pct={value} (expected 0-100)"))?
            }
            "t" => rec.testing = value.eq_ignore_ascii_case("y"),
            "adkim" => rec.adkim = align(value)?,
            "aspf" => rec.aspf = align(value)?,
            "rua" => {
                rec.rua = value
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            }
            "ruf" => {
                rec.ruf = value
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            }
            _ => {}
        }
    }
    if let Some(problem) = p_problem {
        // RFC 7489 §6.6.3: without a valid p=, a record with a valid rua= counts as p=none;
        // without either, receivers apply no DMARC processing at all.
        if !rec.rua.iter().any(|u| report_domain(u).is_ok()) {
            return Err(problem);
        }
        rec.p = DmarcPolicy::None;
        rec.p_fallback = Some(problem);
    }
    Ok(rec)
}

/// The domain of a `mailto:` report URI (size suffix `!10m` dropped), or why it is not one.
pub fn report_domain(uri: &str) -> Result<String, String> {
    let rest = uri
        .get(..7)
        .filter(|s| s.eq_ignore_ascii_case("mailto:"))
        .map(|_| &uri[7..])
        .ok_or(format!("`{uri}` is not a mailto: URI"))?;
    let addr = rest.split('!').next().unwrap_or("");
    let (local, domain) = addr
        .rsplit_once('@')
        .ok_or(format!("`{uri}` has no address"))?;
    if local.is_empty() || !domain.contains('.') || domain.contains(' ') {
        return Err(format!("`{uri}` is not a valid address"));
    }
    Ok(domain.trim_end_matches('.').to_ascii_lowercase())
}

/// The organisational domain (RFC 7489 §3.2) via the Public Suffix List.
pub fn org_domain(domain: &str) -> String {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    psl::domain_str(&d).map(str::to_string).unwrap_or(d)
}

/// Whether two domains are aligned under the given mode.
pub fn aligned(a: &str, b: &str, mode: Alignment) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    match mode {
        Alignment::Strict => a == b,
        Alignment::Relaxed => org_domain(&a) == org_domain(&b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisational_domain_uses_the_public_suffix_list() {
        assert_eq!(org_domain("sub.example.edu"), "example.edu");
        assert_eq!(org_domain("mail.example.co.uk"), "example.co.uk");
        assert!(aligned(
            "moodle.example.edu",
            "example.edu",
            Alignment::Relaxed
        ));
        assert!(!aligned(
            "moodle.example.edu",
            "example.edu",
            Alignment::Strict
        ));
    }

    #[test]
    fn record_needs_version_first_and_a_policy() {
        assert!(parse("p=none; v=DMARC1").is_err());
        assert!(!is_dmarc("v=DMARC€; p=none"));
        assert!(report_domain("mailto€x").is_err());
        assert!(parse("v=DMARC1; p=maybe").is_err());
        assert!(parse("v=DMARC1; p=maybe; rua=report@example.org").is_err());
        // RFC 7489 §6.6.3: a valid rua= makes a record without a valid p= count as p=none.
        let r = parse("v=DMARC1; p=maybe; rua=mailto:a@example.org").unwrap();
        assert_eq!(r.p, DmarcPolicy::None);
        assert!(r.p_fallback.as_deref().unwrap().contains("p=maybe"));
        assert!(
            parse("v=DMARC1; rua=mailto:a@example.org")
                .unwrap()
                .p_fallback
                .is_some()
        );
        let r =
            parse("v=DMARC1; p=quarantine; pct=50; aspf=s; rua=mailto:d@example.org!10m").unwrap();
        assert_eq!(r.pct, 50);
        assert_eq!(r.aspf, Alignment::Strict);
        assert_eq!(report_domain(&r.rua[0]).unwrap(), "example.org");
    }
}
