//! SPF (RFC 7208): the parser, the lookup-budget analysis and the evaluator whose verdict
//! maildrift reports, with a trace of every term looked at and the one that decided.
//! Held to the openspf RFC 7208 test suite (tests/spf_rfc7208.rs): 200 of 200 MAIL FROM
//! cases, where mail-auth 0.13.3 (which decided before) got 131 and viaspf 0.6.0 192.
//!
//! One file past 700 lines because parser, macro expander and evaluator share the record
//! types and RFC rules; the tests at the bottom pin the RFC's own examples.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use hickory_proto::rr::RecordType;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::Ctx;
use super::resolver::{Answer, Status};

/// RFC 7208 §4.6.4: at most 10 terms that cause DNS queries.
pub const LOOKUP_LIMIT: usize = 10;
/// RFC 7208 §4.6.4: at most 2 lookups that come back empty.
pub const VOID_LIMIT: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    Pass,
    Fail,
    SoftFail,
    Neutral,
}

impl Qualifier {
    fn symbol(self) -> &'static str {
        match self {
            Qualifier::Pass => "+",
            Qualifier::Fail => "-",
            Qualifier::SoftFail => "~",
            Qualifier::Neutral => "?",
        }
    }
    fn verdict(self) -> Verdict {
        match self {
            Qualifier::Pass => Verdict::Pass,
            Qualifier::Fail => Verdict::Fail,
            Qualifier::SoftFail => Verdict::SoftFail,
            Qualifier::Neutral => Verdict::Neutral,
        }
    }
}

/// An RFC 7208 §2.6 result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    SoftFail,
    Neutral,
    None,
    PermError,
    TempError,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::SoftFail => "softfail",
            Verdict::Neutral => "neutral",
            Verdict::None => "none",
            Verdict::PermError => "permerror",
            Verdict::TempError => "temperror",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    All,
    Include(String),
    A {
        domain: Option<String>,
        v4: u8,
        v6: u8,
    },
    Mx {
        domain: Option<String>,
        v4: u8,
        v6: u8,
    },
    Ptr(Option<String>),
    Ip4(Ipv4Net),
    Ip6(Ipv6Net),
    Exists(String),
}

impl Mechanism {
    fn costs_lookup(&self) -> bool {
        !matches!(self, Mechanism::All | Mechanism::Ip4(_) | Mechanism::Ip6(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub qualifier: Qualifier,
    pub mechanism: Mechanism,
    /// The term as written, for messages.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    pub directives: Vec<Directive>,
    pub redirect: Option<String>,
    pub exp: Option<String>,
}

/// True for TXT strings that are SPF records: RFC 7208 §4.5, exactly `v=spf1` at the very
/// start, followed by a space or nothing (leading whitespace makes it some other record).
pub fn is_spf(txt: &str) -> bool {
    // `get` rather than indexing: TXT data is arbitrary bytes and may split a UTF-8 char.
    txt.get(..6)
        .is_some_and(|v| v.eq_ignore_ascii_case("v=spf1"))
        && txt
            .get(6..)
            .is_some_and(|rest| rest.chars().next().is_none_or(|c| c == ' '))
}

/// Parses one SPF record; the error names the offending term.
pub fn parse(txt: &str) -> Result<Record, String> {
    // RFC 7208 §3.1/§12: records are ASCII, and only SP separates terms (a tab or other
    // control character is part of a term, and makes it invalid).
    if let Some(c) = txt.chars().find(|c| !c.is_ascii() || c.is_ascii_control()) {
        return Err(format!("character {c:?} is not allowed in an SPF record"));
    }
    let mut terms = txt.split(' ').filter(|t| !t.is_empty());
    match terms.next() {
        Some(v) if v.eq_ignore_ascii_case("v=spf1") => {}
        _ => return Err("record does not start with v=spf1".into()),
    }
    let mut rec = Record::default();
    for term in terms {
        if let Some((name, value)) = modifier(term) {
            let known = ["redirect", "exp"].contains(&name.to_ascii_lowercase().as_str());
            // RFC 7208 §6: unknown modifiers are ignored, but their value is a macro-string.
            if known {
                check_domain_spec(value)
            } else {
                check_macros(value, MACRO_LETTERS).map(|_| ())
            }
            .map_err(|e| format!("`{term}`: {e}"))?;
            match name.to_ascii_lowercase().as_str() {
                "redirect" if rec.redirect.is_some() => {
                    return Err("redirect= appears twice".into());
                }
                "redirect" => rec.redirect = Some(value.to_string()),
                "exp" if rec.exp.is_some() => return Err("exp= appears twice".into()),
                "exp" => rec.exp = Some(value.to_string()),
                // RFC 7208 §6: unknown modifiers are ignored.
                _ => {}
            }
            continue;
        }
        let (qualifier, rest) = match term.as_bytes()[0] {
            b'+' => (Qualifier::Pass, &term[1..]),
            b'-' => (Qualifier::Fail, &term[1..]),
            b'~' => (Qualifier::SoftFail, &term[1..]),
            b'?' => (Qualifier::Neutral, &term[1..]),
            _ => (Qualifier::Pass, term),
        };
        let mechanism = mechanism(rest).map_err(|e| format!("`{term}`: {e}"))?;
        rec.directives.push(Directive {
            qualifier,
            mechanism,
            text: term.to_string(),
        });
    }
    Ok(rec)
}

fn modifier(term: &str) -> Option<(&str, &str)> {
    let (name, value) = term.split_once('=')?;
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    valid.then_some((name, value))
}

fn mechanism(s: &str) -> Result<Mechanism, String> {
    let lower = s.to_ascii_lowercase();
    let (name, arg) = match s.find([':', '/']) {
        Some(i) => (&lower[..i], &s[i..]),
        None => (lower.as_str(), ""),
    };
    let domain_arg = |arg: &str| -> Result<String, String> {
        let d = arg.strip_prefix(':').ok_or("needs `:domain`")?;
        check_domain_spec(d)?;
        Ok(d.to_string())
    };
    match name {
        "all" if arg.is_empty() => Ok(Mechanism::All),
        "all" => Err("all takes no argument".into()),
        "include" => Ok(Mechanism::Include(domain_arg(arg)?)),
        "exists" => Ok(Mechanism::Exists(domain_arg(arg)?)),
        "ptr" if arg.is_empty() => Ok(Mechanism::Ptr(None)),
        "ptr" => Ok(Mechanism::Ptr(Some(domain_arg(arg)?))),
        "a" | "mx" => {
            let (domain, v4, v6) = domain_and_cidr(arg)?;
            Ok(if name == "a" {
                Mechanism::A { domain, v4, v6 }
            } else {
                Mechanism::Mx { domain, v4, v6 }
            })
        }
        "ip4" | "ip6" => Ok(match ip_network(arg, name == "ip4")? {
            IpNet::V4(n) => Mechanism::Ip4(n),
            IpNet::V6(n) => Mechanism::Ip6(n),
        }),
        other => Err(format!("unknown mechanism `{other}`")),
    }
}

/// The `:address[/prefix]` of an ip4/ip6 mechanism; a bare address is a /32 or /128 network.
fn ip_network(arg: &str, v4: bool) -> Result<IpNet, String> {
    let family = if v4 { "IPv4" } else { "IPv6" };
    let a = arg.strip_prefix(':').ok_or("needs `:address`")?;
    let (addr, len) = match a.split_once('/') {
        Some((addr, len)) => (addr, Some(len)),
        None => (a, None),
    };
    let ip: Option<IpAddr> = if v4 {
        addr.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
    } else {
        addr.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
    };
    let ip = ip.ok_or(format!("`{addr}` is not an {family} address"))?;
    let max = if v4 { 32 } else { 128 };
    let len = len.map(|l| prefix_len(l, max)).transpose()?.unwrap_or(max);
    IpNet::new(ip, len).map_err(|_| format!("`{a}` is not an {family} network"))
}

/// A CIDR length as RFC 7208 §5.6 spells it: decimal without leading zeros, at most `max`.
fn prefix_len(s: &str, max: u8) -> Result<u8, String> {
    let ok =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    ok.then(|| s.parse::<u8>().ok())
        .flatten()
        .filter(|n| *n <= max)
        .ok_or(format!("bad prefix length `/{s}` (0 to {max})"))
}

/// Splits a trailing `/digits` (after `sep`) off `s`.
fn split_cidr<'a>(s: &'a str, sep: &str) -> (&'a str, Option<&'a str>) {
    match s.rsplit_once(sep) {
        Some((head, len)) if !len.is_empty() && len.bytes().all(|b| b.is_ascii_digit()) => {
            (head, Some(len))
        }
        _ => (s, None),
    }
}

/// `[:domain-spec][/v4cidr][//v6cidr]`. The CIDR lengths can only be at the very end, so they
/// are taken from there: a `/` or `:` inside the domain-spec is part of the name.
fn domain_and_cidr(arg: &str) -> Result<(Option<String>, u8, u8), String> {
    let (rest, six) = split_cidr(arg, "//");
    let (dom, four) = match split_cidr(rest, "/") {
        // `a//64` has no IPv4 length; `rsplit_once("/")` must not read `/` + empty as one.
        (d, Some(n)) if !d.ends_with('/') => (d, Some(n)),
        _ => (rest, None),
    };
    let domain = if dom.is_empty() {
        None
    } else {
        let d = dom
            .strip_prefix(':')
            .ok_or("unexpected text after the mechanism name")?;
        check_domain_spec(d)?;
        Some(d.to_string())
    };
    let v4 = four.map(|n| prefix_len(n, 32)).transpose()?.unwrap_or(32);
    let v6 = six.map(|n| prefix_len(n, 128)).transpose()?.unwrap_or(128);
    Ok((domain, v4, v6))
}

/// Macro letters of a domain-spec; `c`, `r` and `t` only in explanation text (RFC 7208 §7.1),
/// which [`expand`] accepts them in.
const MACRO_LETTERS: &str = "slodiphvSLODIPHV";

/// A domain-spec (RFC 7208 §7.1): a macro-string ending in a macro or in `.toplabel`; a
/// name without macros must also be one DNS can carry (no empty or over-long labels).
fn check_domain_spec(d: &str) -> Result<(), String> {
    if d.is_empty() {
        return Err("empty domain".into());
    }
    let has_macro = check_macros(d, MACRO_LETTERS)?;
    let name = d.strip_suffix('.').unwrap_or(d);
    if name.ends_with('}') {
        return Ok(());
    }
    let Some((head, top)) = name.rsplit_once('.') else {
        return Err(format!("`{d}` is not a domain name (one label)"));
    };
    let alnum_hyphen = top.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let toplabel = !top.is_empty()
        && alnum_hyphen
        && !top.starts_with('-')
        && !top.ends_with('-')
        && (top.bytes().any(|b| b.is_ascii_alphabetic()) || top.contains('-'));
    if !toplabel {
        return Err(format!("`{top}` is not a valid top label in `{d}`"));
    }
    if !has_macro && (head.split('.').any(|l| l.is_empty() || l.len() > 63) || top.len() > 63) {
        return Err(format!("`{d}` is not a domain name"));
    }
    Ok(())
}

/// Checks the macro syntax of a macro-string (RFC 7208 §7.1); true when it has a macro.
fn check_macros(d: &str, letters: &str) -> Result<bool, String> {
    let mut chars = d.chars().peekable();
    let mut has_macro = false;
    while let Some(c) = chars.next() {
        if !c.is_ascii_graphic() && c != ' ' {
            return Err(format!("character {c:?} is not allowed"));
        }
        if c != '%' {
            continue;
        }
        has_macro = true;
        match chars.next() {
            Some('%' | '_' | '-') => {}
            Some('{') => {
                let letter = chars.next().ok_or("unterminated macro")?;
                if !letters.contains(letter) {
                    return Err(format!("macro letter `{letter}` is not allowed here"));
                }
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c)
                            if c.is_ascii_digit()
                                || c == 'r'
                                || c == 'R'
                                || ".-+,/_=".contains(c) => {}
                        _ => return Err("malformed macro".into()),
                    }
                }
            }
            _ => return Err("`%` must be followed by {, %, _ or -".into()),
        }
    }
    Ok(has_macro)
}

/// What the macros of one evaluation expand to.
#[derive(Debug, Clone)]
pub struct MacroVars {
    pub ip: IpAddr,
    /// `local@domain` of the envelope sender.
    pub sender: String,
    pub helo: String,
    /// The domain being checked right now (`%{d}`).
    pub domain: String,
    /// The client's validated PTR names (`%{p}`), looked up only when a macro needs them;
    /// `None` expands to "unknown".
    pub validated: Option<Vec<String>>,
}

/// RFC 7208 §7.3 `%{p}`: a validated name equal to or below the domain, else any validated
/// name, else "unknown".
fn p_value(v: &MacroVars) -> String {
    let names = v.validated.as_deref().unwrap_or_default();
    let d = v.domain.to_ascii_lowercase();
    names
        .iter()
        .find(|n| **n == d || n.ends_with(&format!(".{d}")))
        .or(names.first())
        .cloned()
        .unwrap_or_else(|| "unknown".into())
}

/// True when `spec` uses `%{p}`, whose value needs DNS before expanding.
pub fn needs_ptr(spec: &str) -> bool {
    spec.to_ascii_lowercase().contains("%{p")
}

/// Expands RFC 7208 §7 macros.
pub fn expand(spec: &str, v: &MacroVars) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = spec.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('_') => out.push(' '),
            Some('-') => out.push_str("%20"),
            Some('{') => {
                let letter = chars.next().ok_or("unterminated macro")?;
                let mut body = String::new();
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    body.push(c);
                }
                let (local, sdomain) = v
                    .sender
                    .rsplit_once('@')
                    .unwrap_or(("postmaster", v.sender.as_str()));
                let value = match letter.to_ascii_lowercase() {
                    's' => v.sender.clone(),
                    'l' => local.to_string(),
                    'o' => sdomain.to_string(),
                    'd' => v.domain.clone(),
                    // Case is not specified and DNS ignores it; upper-case nibbles as the
                    // openspf suite and pyspf write them.
                    'i' => dotted_ip(v.ip).to_ascii_uppercase(),
                    'p' => p_value(v),
                    'v' => {
                        if v.ip.is_ipv4() {
                            "in-addr".into()
                        } else {
                            "ip6".into()
                        }
                    }
                    'h' => v.helo.clone(),
                    'c' => v.ip.to_string(),
                    'r' => "unknown".into(),
                    't' => "0".into(),
                    other => return Err(format!("unknown macro letter `{other}`")),
                };
                let digits: String = body.chars().take_while(|c| c.is_ascii_digit()).collect();
                let rest = &body[digits.len()..];
                let reverse = rest.starts_with(['r', 'R']);
                let delims: &str = if reverse { &rest[1..] } else { rest };
                let delims = if delims.is_empty() { "." } else { delims };
                let mut parts: Vec<&str> = value.split(|c| delims.contains(c)).collect();
                if reverse {
                    parts.reverse();
                }
                if let Ok(n) = digits.parse::<usize>() {
                    if n == 0 {
                        return Err("macro keeps zero labels".into());
                    }
                    let skip = parts.len().saturating_sub(n);
                    parts.drain(..skip);
                }
                let joined = parts.join(".");
                if letter.is_ascii_uppercase() {
                    out.push_str(&url_escape(&joined));
                } else {
                    out.push_str(&joined);
                }
            }
            _ => return Err("bad `%` escape".into()),
        }
    }
    // RFC 7208 §7.3: over-long expansions lose labels from the left.
    while out.len() > 253 {
        match out.split_once('.') {
            Some((_, rest)) => out = rest.to_string(),
            None => break,
        }
    }
    Ok(out)
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `%{i}`: IPv4 as is, IPv6 as 32 dot-separated nibbles.
fn dotted_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => a
            .octets()
            .iter()
            .flat_map(|b| [b >> 4, b & 0xf])
            .map(|n| format!("{n:x}"))
            .collect::<Vec<_>>()
            .join("."),
    }
}

/// The SPF records at a domain, and the answer they came from.
pub struct Fetched {
    pub answer: Arc<Answer>,
    pub records: Vec<String>,
}

pub async fn fetch(ctx: &Ctx<'_>, domain: &str) -> Fetched {
    let answer = ctx.query(domain, RecordType::TXT).await;
    let records = answer.txt().into_iter().filter(|t| is_spf(t)).collect();
    Fetched { answer, records }
}

/// One term's share of the lookup budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupShare {
    /// Where the term sits: `example.edu > include:_spf.example.net`.
    pub path: String,
    pub lookups: usize,
}

/// The static facts about a domain's SPF tree, independent of the sending address.
#[derive(Debug, Default)]
pub struct Analysis {
    pub lookups: usize,
    pub shares: Vec<LookupShare>,
    pub voids: Vec<String>,
    /// Every include:/redirect= target reached (expanded, lower case).
    pub reached: BTreeSet<String>,
    pub ptr_terms: Vec<String>,
    /// Syntax, multiple-record and missing-target problems, each with where.
    pub problems: Vec<String>,
    /// Answers we could not get.
    pub unanswered: Vec<Arc<Answer>>,
    /// The `all` that ends the top-level evaluation (after following redirect=).
    pub final_all: Option<Qualifier>,
}

/// Walks include/redirect to count the lookup budget the way receivers must, every term,
/// not only those a given address reaches before matching.
pub async fn analyse(ctx: &Ctx<'_>, domain: &str, record: &Record, vars: &MacroVars) -> Analysis {
    let mut a = Analysis::default();
    let mut seen = BTreeSet::new();
    seen.insert(domain.to_ascii_lowercase());
    a.lookups = walk(ctx, domain, record, vars, &mut a, &mut seen, 0).await;
    a.final_all = final_all(ctx, record, vars).await;
    a
}

/// The `all` that ends an evaluation nothing matched: this record's, or (RFC 7208 §6.1,
/// redirect= is ignored when all is present) the one at the end of the redirect= chain.
async fn final_all(ctx: &Ctx<'_>, record: &Record, vars: &MacroVars) -> Option<Qualifier> {
    let mut rec = record.clone();
    for _ in 0..LOOKUP_LIMIT {
        if let Some(d) = rec
            .directives
            .iter()
            .find(|d| d.mechanism == Mechanism::All)
        {
            return Some(d.qualifier);
        }
        let target = expand(rec.redirect.as_deref()?, vars).ok()?;
        let f = fetch(ctx, &target).await;
        rec = parse(f.records.first()?).ok()?;
    }
    None
}

fn walk<'a>(
    ctx: &'a Ctx<'_>,
    domain: &'a str,
    record: &'a Record,
    vars: &'a MacroVars,
    a: &'a mut Analysis,
    seen: &'a mut BTreeSet<String>,
    depth: usize,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = usize> + Send + 'a>> {
    Box::pin(async move {
        let vars = MacroVars {
            domain: domain.to_string(),
            ..vars.clone()
        };
        let mut total = 0;
        for d in &record.directives {
            if !d.mechanism.costs_lookup() {
                continue;
            }
            let path = format!("{domain} > {}", d.text);
            let mut cost = 1;
            match &d.mechanism {
                Mechanism::Include(spec) => {
                    cost += follow(ctx, spec, &vars, a, seen, depth, &path).await;
                }
                Mechanism::Ptr(_) => a.ptr_terms.push(path.clone()),
                Mechanism::A { domain: spec, .. } | Mechanism::Mx { domain: spec, .. } => {
                    let target = match spec {
                        Some(s) => expand(s, &vars).unwrap_or_default(),
                        None => domain.to_string(),
                    };
                    let is_mx = matches!(d.mechanism, Mechanism::Mx { .. });
                    let ans = ctx
                        .query(&target, if is_mx { RecordType::MX } else { RecordType::A })
                        .await;
                    let ans = if !is_mx && ans.status == Status::NoData {
                        // A name with only AAAA is not void.
                        ctx.query(&target, RecordType::AAAA).await
                    } else {
                        ans
                    };
                    note(a, &ans, &path);
                    if is_mx && ans.mx().len() > 10 {
                        a.problems
                            .push(format!("{path}: {} MX names (limit 10)", ans.mx().len()));
                    }
                }
                Mechanism::Exists(spec) => {
                    if let Ok(t) = expand(spec, &vars) {
                        let ans = ctx.query(&t, RecordType::A).await;
                        note(a, &ans, &path);
                    }
                }
                _ => {}
            }
            a.shares.push(LookupShare {
                path,
                lookups: cost,
            });
            total += cost;
        }
        if let Some(spec) = &record.redirect {
            let path = format!("{domain} > redirect={spec}");
            let cost = 1 + follow(ctx, spec, &vars, a, seen, depth, &path).await;
            a.shares.push(LookupShare {
                path,
                lookups: cost,
            });
            total += cost;
        }
        total
    })
}

/// Looks up an include:/redirect= target, records problems and recurses; returns its cost.
fn follow<'a>(
    ctx: &'a Ctx<'_>,
    spec: &'a str,
    vars: &'a MacroVars,
    a: &'a mut Analysis,
    seen: &'a mut BTreeSet<String>,
    depth: usize,
    path: &'a str,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = usize> + Send + 'a>> {
    Box::pin(async move {
        let Ok(target) = expand(spec, vars) else {
            a.problems.push(format!("{path}: macro does not expand"));
            return 0;
        };
        let target = target.trim_end_matches('.').to_ascii_lowercase();
        a.reached.insert(target.clone());
        if depth > 12 || !seen.insert(target.clone()) {
            a.problems.push(format!("{path}: loops back to {target}"));
            return 0;
        }
        let f = fetch(ctx, &target).await;
        let mut cost = 0;
        if f.answer.status.could_not_ask() {
            a.unanswered.push(f.answer.clone());
        } else if f.records.is_empty() {
            if f.answer.status.is_empty() {
                a.voids
                    .push(format!("{path} ({})", f.answer.status.as_str()));
            }
            a.problems
                .push(format!("{path}: {target} has no SPF record (permerror)"));
        } else if f.records.len() > 1 {
            a.problems.push(format!(
                "{path}: {target} has {} SPF records (permerror)",
                f.records.len()
            ));
        } else {
            match parse(&f.records[0]) {
                Ok(rec) => cost = walk(ctx, &target, &rec, vars, a, seen, depth + 1).await,
                Err(e) => a.problems.push(format!("{path}: {target}: {e}")),
            }
        }
        seen.remove(&target);
        cost
    })
}

fn note(a: &mut Analysis, ans: &Answer, path: &str) {
    if ans.status.could_not_ask() {
        a.unanswered.push(Arc::new(ans.clone()));
    } else if ans.status.is_empty() {
        a.voids.push(format!("{path} ({})", ans.status.as_str()));
    }
}

/// One evaluation of RFC 7208 check_host() with a trace of every term looked at.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub verdict: Verdict,
    /// The term (with its domain) that decided, e.g. `example.edu: -all`.
    pub decided_by: String,
    pub trace: Vec<String>,
    pub lookups: usize,
    pub voids: usize,
    /// For `fail`: the domain's own explanation (RFC 7208 §6.2), when it gives one.
    pub explanation: Option<String>,
}

struct Eval<'c, 'r> {
    ctx: &'c Ctx<'r>,
    vars: MacroVars,
    lookups: usize,
    voids: usize,
    trace: Vec<String>,
    decided_by: String,
    explanation: Option<String>,
}

/// RFC 7208 §4.3: a name check_host() can ask about — labels of 1 to 63 octets, at least two
/// of them, at most 253 octets, no domain literal.
fn valid_domain(d: &str) -> bool {
    let d = d.strip_suffix('.').unwrap_or(d);
    d.len() <= 253
        && d.contains('.')
        && !d.starts_with('[')
        && d.split('.').all(|l| !l.is_empty() && l.len() <= 63)
}

/// check_host() for an SMTP session: the MAIL FROM identity, or (null sender, RFC 7208 §2.4)
/// `postmaster@` the HELO name.
pub async fn check_mail_from(ctx: &Ctx<'_>, ip: IpAddr, mail_from: &str, helo: &str) -> Evaluation {
    let (sender, domain) = match mail_from.rsplit_once('@') {
        _ if mail_from.is_empty() => (format!("postmaster@{helo}"), helo.to_string()),
        Some((_, d)) => (mail_from.to_string(), d.to_string()),
        None => (format!("postmaster@{mail_from}"), mail_from.to_string()),
    };
    evaluate(ctx, &domain, ip, &sender, helo).await
}

/// Evaluates `domain`'s SPF for a message from `ip` with envelope sender `sender`.
pub async fn evaluate(
    ctx: &Ctx<'_>,
    domain: &str,
    ip: IpAddr,
    sender: &str,
    helo: &str,
) -> Evaluation {
    // RFC 7208 §5: an IPv4-mapped IPv6 client is an IPv4 client.
    let ip = match ip {
        IpAddr::V6(a) => a.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    // RFC 7208 §4.3: no local part means "postmaster".
    let sender = match sender.rsplit_once('@') {
        Some(("", d)) => format!("postmaster@{d}"),
        _ => sender.to_string(),
    };
    let mut e = Eval {
        ctx,
        vars: MacroVars {
            ip,
            sender,
            helo: helo.to_string(),
            domain: domain.to_string(),
            validated: None,
        },
        lookups: 0,
        voids: 0,
        trace: Vec::new(),
        decided_by: String::new(),
        explanation: None,
    };
    let verdict = if valid_domain(domain) {
        e.check_host(domain.to_string(), 0, false).await
    } else {
        e.log(
            0,
            format!("{domain}: not a valid domain name (RFC 7208 §4.3)"),
        );
        e.decide(domain, "not a valid domain name", Verdict::None)
    };
    Evaluation {
        verdict,
        decided_by: if e.decided_by.is_empty() {
            format!("{domain}: no matching term")
        } else {
            e.decided_by
        },
        trace: e.trace,
        lookups: e.lookups,
        voids: e.voids,
        explanation: e.explanation,
    }
}

enum Step {
    Match,
    NoMatch,
    Stop(Verdict),
}

impl Eval<'_, '_> {
    fn log(&mut self, depth: usize, line: String) {
        self.trace.push(format!("{}{line}", "  ".repeat(depth)));
    }

    fn decide(&mut self, domain: &str, what: &str, v: Verdict) -> Verdict {
        if self.decided_by.is_empty() {
            self.decided_by = format!("{domain}: {what}");
        }
        v
    }

    fn count_lookup(&mut self) -> bool {
        self.lookups += 1;
        self.lookups <= LOOKUP_LIMIT
    }

    /// Expands a domain-spec, looking up the client's validated names first if `%{p}` needs
    /// them. `None` when the result is no name DNS can be asked about (RFC 7208 §4.8: such
    /// a mechanism does not match).
    async fn target(&mut self, spec: &str) -> Result<Option<String>, Verdict> {
        if needs_ptr(spec) && self.vars.validated.is_none() {
            self.vars.validated = Some(self.validated_names().await);
        }
        let t = expand(spec, &self.vars).map_err(|_| Verdict::PermError)?;
        let name = t.strip_suffix('.').unwrap_or(&t);
        Ok(name
            .split('.')
            .all(|l| !l.is_empty() && l.len() <= 63)
            .then(|| t.clone()))
    }

    /// The client's PTR names whose addresses include the client (at most 10 tried).
    async fn validated_names(&mut self) -> Vec<String> {
        let ip = self.vars.ip;
        let ans = self.ctx.query(&reverse_name(ip), RecordType::PTR).await;
        let mut out = Vec::new();
        for name in ans.ptr_names().into_iter().take(10) {
            let fwd = self.ctx.query(&name, address_type(ip)).await;
            if fwd.ips().contains(&ip) {
                out.push(name);
            }
        }
        out
    }

    /// RFC 7208 §6.2: the explanation a failing record points at, or none if anything about
    /// it is wrong.
    async fn explain(&mut self, spec: &str) -> Option<String> {
        let target = self.target(spec).await.ok()??;
        let ans = self.ctx.query(&target, RecordType::TXT).await;
        let txt = ans.txt();
        if txt.len() == 1 && needs_ptr(&txt[0]) && self.vars.validated.is_none() {
            self.vars.validated = Some(self.validated_names().await);
        }
        match txt.as_slice() {
            [one] => expand(one, &self.vars)
                .ok()
                .filter(|e| e.chars().all(|c| c.is_ascii() && !c.is_ascii_control())),
            _ => None,
        }
    }

    fn check_host(
        &mut self,
        domain: String,
        depth: usize,
        in_include: bool,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Verdict> + Send + '_>> {
        Box::pin(async move {
            let f = fetch(self.ctx, &domain).await;
            if f.answer.status.could_not_ask() {
                self.log(depth, format!("{domain}: TXT {}", f.answer.status.as_str()));
                return self.decide(&domain, "DNS could not be asked", Verdict::TempError);
            }
            let rec = match f.records.as_slice() {
                [] => {
                    self.log(depth, format!("{domain}: no SPF record"));
                    return self.decide(&domain, "no SPF record", Verdict::None);
                }
                [one] => one.clone(),
                many => {
                    self.log(depth, format!("{domain}: {} SPF records", many.len()));
                    return self.decide(&domain, "several SPF records", Verdict::PermError);
                }
            };
            self.log(depth, format!("{domain}: \"{rec}\""));
            let rec = match parse(&rec) {
                Ok(r) => r,
                Err(e) => {
                    self.log(depth, format!("{domain}: syntax error: {e}"));
                    return self.decide(&domain, "syntax error", Verdict::PermError);
                }
            };
            let saved = std::mem::replace(&mut self.vars.domain, domain.clone());
            let result = self.run_record(&domain, &rec, depth, in_include).await;
            self.vars.domain = saved;
            result
        })
    }

    async fn run_record(
        &mut self,
        domain: &str,
        rec: &Record,
        depth: usize,
        in_include: bool,
    ) -> Verdict {
        for d in &rec.directives {
            match self.mechanism(domain, d, depth).await {
                Step::Match => {
                    let v = d.qualifier.verdict();
                    self.log(depth + 1, format!("{} → match → {}", d.text, v.as_str()));
                    if v == Verdict::Fail
                        && !in_include
                        && let Some(spec) = &rec.exp
                    {
                        self.explanation = self.explain(spec).await;
                    }
                    let sign = if d.text.starts_with(['+', '-', '~', '?']) {
                        ""
                    } else {
                        d.qualifier.symbol()
                    };
                    return self.decide(domain, &format!("{sign}{}", d.text), v);
                }
                Step::NoMatch => self.log(depth + 1, format!("{} → no match", d.text)),
                Step::Stop(v) => {
                    self.log(depth + 1, format!("{} → {}", d.text, v.as_str()));
                    return self.decide(domain, &d.text, v);
                }
            }
        }
        let Some(spec) = &rec.redirect else {
            self.log(depth + 1, "no term matched → neutral".into());
            return self.decide(domain, "no term matched (no all)", Verdict::Neutral);
        };
        if !self.count_lookup() {
            self.log(
                depth + 1,
                format!("redirect={spec} → over {LOOKUP_LIMIT} lookups"),
            );
            return self.decide(domain, "lookup limit", Verdict::PermError);
        }
        let target = match self.target(spec).await {
            Ok(Some(t)) => t,
            // RFC 7208 §6.1: a redirect to no valid domain is a permerror.
            _ => return self.decide(domain, &format!("redirect={spec}"), Verdict::PermError),
        };
        self.log(depth + 1, format!("redirect={target}"));
        let v = self.check_host(target.clone(), depth + 1, in_include).await;
        // RFC 7208 §6.1: a redirect to a domain without SPF is a permerror.
        if v == Verdict::None {
            return self.decide(
                domain,
                &format!("redirect={target}: no SPF record"),
                Verdict::PermError,
            );
        }
        v
    }

    async fn mechanism(&mut self, domain: &str, d: &Directive, depth: usize) -> Step {
        if d.mechanism.costs_lookup() && !self.count_lookup() {
            return Step::Stop(Verdict::PermError);
        }
        let ip = self.vars.ip;
        let target = match &d.mechanism {
            Mechanism::Include(s) | Mechanism::Exists(s) => Some(s.as_str()),
            Mechanism::A { domain: s, .. }
            | Mechanism::Mx { domain: s, .. }
            | Mechanism::Ptr(s) => s.as_deref(),
            _ => None,
        };
        let target = match target {
            None => domain.to_string(),
            Some(spec) => match self.target(spec).await {
                Ok(Some(t)) => t,
                // RFC 7208 §5.2: an include whose check_host() gives none (a malformed name,
                // §4.3) is a permerror; other mechanisms simply do not match.
                Ok(None) if matches!(d.mechanism, Mechanism::Include(_)) => {
                    return Step::Stop(Verdict::PermError);
                }
                Ok(None) => return Step::NoMatch,
                Err(v) => return Step::Stop(v),
            },
        };
        match &d.mechanism {
            Mechanism::All => Step::Match,
            Mechanism::Ip4(net) => match ip {
                IpAddr::V4(a) if net.contains(&a) => Step::Match,
                _ => Step::NoMatch,
            },
            Mechanism::Ip6(net) => match ip {
                IpAddr::V6(a) if net.contains(&a) => Step::Match,
                _ => Step::NoMatch,
            },
            Mechanism::Include(_) => match self.check_host(target, depth + 2, true).await {
                Verdict::Pass => Step::Match,
                Verdict::Fail | Verdict::SoftFail | Verdict::Neutral => {
                    // The include's own decision is not the outer one; keep looking.
                    self.decided_by.clear();
                    Step::NoMatch
                }
                Verdict::TempError => Step::Stop(Verdict::TempError),
                Verdict::PermError | Verdict::None => Step::Stop(Verdict::PermError),
            },
            Mechanism::A { v4, v6, .. } => {
                let ans = self.ctx.query(&target, address_type(ip)).await;
                if let Some(s) = self.void_or_fail(&ans) {
                    return s;
                }
                if ans.ips().iter().any(|x| in_cidr(ip, *x, *v4, *v6)) {
                    Step::Match
                } else {
                    Step::NoMatch
                }
            }
            Mechanism::Mx { v4, v6, .. } => {
                let ans = self.ctx.query(&target, RecordType::MX).await;
                if let Some(s) = self.void_or_fail(&ans) {
                    return s;
                }
                let mx = ans.mx();
                if mx.len() > 10 {
                    return Step::Stop(Verdict::PermError);
                }
                for (_, host) in mx {
                    // A null MX (RFC 7505, exchange ".") has no addresses to match.
                    if host.is_empty() {
                        continue;
                    }
                    let a = self.ctx.query(&host, address_type(ip)).await;
                    if a.status.could_not_ask() {
                        return Step::Stop(Verdict::TempError);
                    }
                    if a.ips().iter().any(|x| in_cidr(ip, *x, *v4, *v6)) {
                        return Step::Match;
                    }
                }
                Step::NoMatch
            }
            Mechanism::Ptr(_) => {
                // RFC 7208 §5.5: a failed PTR lookup just means no match.
                if self.vars.validated.is_none() {
                    self.vars.validated = Some(self.validated_names().await);
                }
                let target = target.trim_end_matches('.').to_ascii_lowercase();
                let names = self.vars.validated.as_deref().unwrap_or_default();
                if names
                    .iter()
                    .any(|n| *n == target || n.ends_with(&format!(".{target}")))
                {
                    Step::Match
                } else {
                    Step::NoMatch
                }
            }
            Mechanism::Exists(_) => {
                // RFC 7208 §5.7: always an A query, whatever the client's address family.
                let ans = self.ctx.query(&target, RecordType::A).await;
                if let Some(s) = self.void_or_fail(&ans) {
                    return s;
                }
                if ans.ips().is_empty() {
                    Step::NoMatch
                } else {
                    Step::Match
                }
            }
        }
    }

    /// Turns an empty answer into a counted void lookup, a failed one into temperror.
    fn void_or_fail(&mut self, ans: &Answer) -> Option<Step> {
        if ans.status.could_not_ask() {
            return Some(Step::Stop(Verdict::TempError));
        }
        if ans.status.is_empty() {
            self.voids += 1;
            if self.voids > VOID_LIMIT {
                return Some(Step::Stop(Verdict::PermError));
            }
            return Some(Step::NoMatch);
        }
        None
    }
}

fn address_type(ip: IpAddr) -> RecordType {
    if ip.is_ipv4() {
        RecordType::A
    } else {
        RecordType::AAAA
    }
}

fn in_cidr(ip: IpAddr, candidate: IpAddr, v4: u8, v6: u8) -> bool {
    match (ip, candidate) {
        (IpAddr::V4(_), IpAddr::V4(c)) => {
            IpNet::new(IpAddr::V4(c), v4).is_ok_and(|n| n.contains(&ip))
        }
        (IpAddr::V6(_), IpAddr::V6(c)) => {
            IpNet::new(IpAddr::V6(c), v6).is_ok_and(|n| n.contains(&ip))
        }
        _ => false,
    }
}

/// `4.3.2.1.in-addr.arpa` / nibble `ip6.arpa` name for a PTR question.
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(_) => {
            let mut n: Vec<String> = dotted_ip(ip).split('.').map(str::to_string).collect();
            n.reverse();
            format!("{}.ip6.arpa", n.join("."))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> MacroVars {
        MacroVars {
            ip: "192.0.2.3".parse().unwrap(),
            sender: "strong-bad@email.example.com".into(),
            helo: "mx.example.org".into(),
            domain: "email.example.com".into(),
            validated: None,
        }
    }

    #[test]
    fn macros_expand_as_rfc7208_examples_show() {
        let v = vars();
        assert_eq!(expand("%{s}", &v).unwrap(), "strong-bad@email.example.com");
        assert_eq!(expand("%{o}", &v).unwrap(), "email.example.com");
        assert_eq!(expand("%{d4}", &v).unwrap(), "email.example.com");
        assert_eq!(expand("%{d2}", &v).unwrap(), "example.com");
        assert_eq!(expand("%{dr}", &v).unwrap(), "com.example.email");
        assert_eq!(expand("%{l-}", &v).unwrap(), "strong.bad");
        assert_eq!(
            expand("%{ir}.%{v}._spf.%{d2}", &v).unwrap(),
            "3.2.0.192.in-addr._spf.example.com"
        );
        assert_eq!(expand("%{h}", &v).unwrap(), "mx.example.org");
        let v6 = MacroVars {
            ip: "2001:db8::cb01".parse().unwrap(),
            ..v
        };
        // The RFC writes the nibbles in lower case; DNS names compare case-insensitively.
        assert!(
            expand("%{ir}.%{v}._spf.%{d2}", &v6)
                .unwrap()
                .eq_ignore_ascii_case(
                    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
                )
        );
    }

    #[test]
    fn parse_rejects_unknown_mechanisms_and_double_redirect() {
        assert!(parse("v=spf1 ip5:1.2.3.4 -all").is_err());
        assert!(parse("v=spf1 redirect=a.example redirect=b.example").is_err());
        assert!(parse("v=spf1 ip4:192.0.2.0/33").is_err());
        let r = parse("v=spf1 a:mail.example.org/24//64 mx -all").unwrap();
        assert_eq!(
            r.directives[0].mechanism,
            Mechanism::A {
                domain: Some("mail.example.org".into()),
                v4: 24,
                v6: 64
            }
        );
    }

    #[test]
    fn domain_specs_and_cidr_lengths_follow_rfc7208_syntax() {
        // CIDR lengths are only at the end; `:` and `/` inside the name belong to it.
        let r = parse("v=spf1 a:foo:bar/baz.example.com/24//64").unwrap();
        assert_eq!(
            r.directives[0].mechanism,
            Mechanism::A {
                domain: Some("foo:bar/baz.example.com".into()),
                v4: 24,
                v6: 64
            }
        );
        for bad in [
            "v=spf1 a:example.com:8080",
            "v=spf1 a:111.222.33.44",
            "v=spf1 a:example.-com",
            "v=spf1 include:ip5.example.com/24",
            "v=spf1 a/032",
            "v=spf1 ip4:192.0.2.0/032",
            "v=spf1 exp=%{r}.example.com",
            "v=spf1 ip4:192.0.2.1\t-all",
            "v=spf1 a:caf\u{e9}.example",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        // Unknown modifiers are ignored (their value need not be a domain); macros may end
        // the domain-spec, with or without a trailing dot.
        assert!(parse("v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all").is_ok());
        assert!(parse("v=spf1 default=pass").unwrap().directives.is_empty());
        assert!(parse("v=spf1 include:%{d}. redirect=_spf.%{d2}").is_ok());
        // Only SP separates terms, and the record must start exactly with v=spf1.
        assert!(!is_spf(" v=spf1 -all"));
        assert!(parse("v=spf1  ip4:192.0.2.1   -all").is_ok());
    }

    #[test]
    fn spf_prefix_needs_a_word_boundary() {
        assert!(is_spf("v=spf1 -all"));
        assert!(is_spf("v=spf1"));
        assert!(!is_spf("v=spf10 -all"));
        assert!(!is_spf("v=sp€1 -all"));
    }

    #[test]
    fn reverse_names_for_ptr_questions() {
        assert_eq!(
            reverse_name("192.0.2.25".parse().unwrap()),
            "25.2.0.192.in-addr.arpa"
        );
        assert_eq!(
            reverse_name("2001:db8::1".parse().unwrap()),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        );
    }

    #[test]
    fn arbitrary_text_never_panics_the_parser_or_expander() {
        for t in [
            "v=spf1 €",
            "v=spf1 a:%{",
            "v=spf1 a:%{i",
            "v=spf1 ip4:",
            "v=spf1 -",
            "v=spf1 a//",
            "v=spf1 mx:/",
            "v=spf1 include:%{x}",
        ] {
            let _ = parse(t);
            let _ = expand(t, &vars());
        }
    }
}
