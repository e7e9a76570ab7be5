//! SPF (RFC 7208): our own parser and evaluator, used for what mail-auth does not tell us —
//! the lookup budget per term, void lookups, and a trace of which term decided a verdict.
//! The verdict that counts comes from mail-auth (see [`mail_auth_verdict`]); the two are
//! compared and a disagreement is reported, never hidden.

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

    pub fn from_mail_auth(r: mail_auth::SpfResult) -> Verdict {
        use mail_auth::SpfResult as R;
        match r {
            R::Pass => Verdict::Pass,
            R::Fail => Verdict::Fail,
            R::SoftFail => Verdict::SoftFail,
            R::Neutral => Verdict::Neutral,
            R::None => Verdict::None,
            R::PermError => Verdict::PermError,
            R::TempError => Verdict::TempError,
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

/// True for TXT strings that are SPF records (`v=spf1` followed by a space or nothing).
pub fn is_spf(txt: &str) -> bool {
    let t = txt.trim_start();
    // `get` rather than indexing: TXT data is arbitrary bytes and may split a UTF-8 char.
    t.get(..6).is_some_and(|v| v.eq_ignore_ascii_case("v=spf1"))
        && t.get(6..)
            .is_some_and(|rest| rest.chars().next().is_none_or(|c| c == ' '))
}

/// Parses one SPF record; the error names the offending term.
pub fn parse(txt: &str) -> Result<Record, String> {
    let mut terms = txt.split_ascii_whitespace();
    match terms.next() {
        Some(v) if v.eq_ignore_ascii_case("v=spf1") => {}
        _ => return Err("record does not start with v=spf1".into()),
    }
    let mut rec = Record::default();
    for term in terms {
        if let Some((name, value)) = modifier(term) {
            check_domain_spec(value).map_err(|e| format!("`{term}`: {e}"))?;
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
        "ip4" => Ok(Mechanism::Ip4(ip_network::<Ipv4Net, std::net::Ipv4Addr>(
            arg, "IPv4",
        )?)),
        "ip6" => Ok(Mechanism::Ip6(ip_network::<Ipv6Net, std::net::Ipv6Addr>(
            arg, "IPv6",
        )?)),
        other => Err(format!("unknown mechanism `{other}`")),
    }
}

/// The `:address[/prefix]` of an ip4/ip6 mechanism; a bare address is a /32 or /128 network.
fn ip_network<N, A>(arg: &str, family: &str) -> Result<N, String>
where
    N: std::str::FromStr + From<A>,
    A: std::str::FromStr,
{
    let a = arg.strip_prefix(':').ok_or("needs `:address`")?;
    if a.contains('/') {
        a.parse::<N>()
            .map_err(|_| format!("`{a}` is not an {family} network"))
    } else {
        a.parse::<A>()
            .map(N::from)
            .map_err(|_| format!("`{a}` is not an {family} address"))
    }
}

/// `[:domain-spec][/v4cidr][//v6cidr]`. The CIDR part is looked for after the last macro so
/// a macro delimiter `/` is not mistaken for it.
fn domain_and_cidr(arg: &str) -> Result<(Option<String>, u8, u8), String> {
    let macro_end = arg.rfind('}').map(|i| i + 1).unwrap_or(0);
    let cidr_start = arg[macro_end..].find('/').map(|i| i + macro_end);
    let (dom, cidr) = match cidr_start {
        Some(i) => (&arg[..i], &arg[i..]),
        None => (arg, ""),
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
    let (mut v4, mut v6) = (32u8, 128u8);
    if !cidr.is_empty() {
        let (four, six) = match cidr.find("//") {
            Some(i) => (&cidr[..i], Some(&cidr[i + 2..])),
            None => (cidr, None),
        };
        if let Some(n) = four.strip_prefix('/') {
            v4 = n
                .parse()
                .ok()
                .filter(|n| *n <= 32)
                .ok_or(format!("bad IPv4 prefix length `{n}`"))?;
        } else if !four.is_empty() {
            return Err(format!("bad prefix length `{four}`"));
        }
        if let Some(n) = six {
            v6 = n
                .parse()
                .ok()
                .filter(|n| *n <= 128)
                .ok_or(format!("bad IPv6 prefix length `{n}`"))?;
        }
    }
    Ok((domain, v4, v6))
}

/// Checks macro syntax (RFC 7208 §7.1) and, without macros, that the name looks like one.
fn check_domain_spec(d: &str) -> Result<(), String> {
    if d.is_empty() {
        return Err("empty domain".into());
    }
    let mut chars = d.chars().peekable();
    let mut has_macro = false;
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        has_macro = true;
        match chars.next() {
            Some('%' | '_' | '-') => {}
            Some('{') => {
                let letter = chars.next().ok_or("unterminated macro")?;
                if !"slodiphcrtvSLODIPHCRTV".contains(letter) {
                    return Err(format!("unknown macro letter `{letter}`"));
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
    if !has_macro {
        let d = d.trim_end_matches('.');
        if !d.contains('.') || d.split('.').any(|l| l.is_empty() || l.len() > 63) {
            return Err(format!("`{d}` is not a domain name"));
        }
    }
    Ok(())
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
}

/// Expands RFC 7208 §7 macros. `%{p}` is "unknown": validating the client's PTR only to
/// build a name is itself discouraged by the RFC and would cost uncounted lookups.
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
                    'i' => dotted_ip(v.ip),
                    'p' => "unknown".into(),
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
}

struct Eval<'c, 'r> {
    ctx: &'c Ctx<'r>,
    vars: MacroVars,
    lookups: usize,
    voids: usize,
    trace: Vec<String>,
    decided_by: String,
}

/// Evaluates `domain`'s SPF for a message from `ip` with envelope sender `sender`.
pub async fn evaluate(
    ctx: &Ctx<'_>,
    domain: &str,
    ip: IpAddr,
    sender: &str,
    helo: &str,
) -> Evaluation {
    let mut e = Eval {
        ctx,
        vars: MacroVars {
            ip,
            sender: sender.to_string(),
            helo: helo.to_string(),
            domain: domain.to_string(),
        },
        lookups: 0,
        voids: 0,
        trace: Vec::new(),
        decided_by: String::new(),
    };
    let verdict = e.check_host(domain.to_string(), 0).await;
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

    fn check_host(
        &mut self,
        domain: String,
        depth: usize,
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
            for d in &rec.directives {
                match self.mechanism(&domain, d, depth).await {
                    Step::Match => {
                        self.log(
                            depth + 1,
                            format!("{} → match → {}", d.text, d.qualifier.verdict().as_str()),
                        );
                        self.vars.domain = saved;
                        let text = format!(
                            "{}{}",
                            if d.text.starts_with(['+', '-', '~', '?']) {
                                ""
                            } else {
                                d.qualifier.symbol()
                            },
                            d.text
                        );
                        return self.decide(&domain, &text, d.qualifier.verdict());
                    }
                    Step::NoMatch => self.log(depth + 1, format!("{} → no match", d.text)),
                    Step::Stop(v) => {
                        self.log(depth + 1, format!("{} → {}", d.text, v.as_str()));
                        self.vars.domain = saved;
                        return self.decide(&domain, &d.text, v);
                    }
                }
            }
            let result = if let Some(spec) = &rec.redirect {
                let Ok(target) = expand(spec, &self.vars) else {
                    self.vars.domain = saved;
                    return self.decide(&domain, &format!("redirect={spec}"), Verdict::PermError);
                };
                if !self.count_lookup() {
                    self.log(
                        depth + 1,
                        format!("redirect={spec} → over {LOOKUP_LIMIT} lookups"),
                    );
                    self.vars.domain = saved;
                    return self.decide(&domain, "lookup limit", Verdict::PermError);
                }
                self.log(depth + 1, format!("redirect={target}"));
                let v = self.check_host(target.clone(), depth + 1).await;
                // RFC 7208 §6.1: a redirect to a domain without SPF is a permerror.
                if v == Verdict::None {
                    Verdict::PermError
                } else {
                    v
                }
            } else {
                self.log(depth + 1, "no term matched → neutral".into());
                self.decide(&domain, "no term matched (no all)", Verdict::Neutral)
            };
            self.vars.domain = saved;
            result
        })
    }

    async fn mechanism(&mut self, domain: &str, d: &Directive, depth: usize) -> Step {
        if d.mechanism.costs_lookup() && !self.count_lookup() {
            return Step::Stop(Verdict::PermError);
        }
        let ip = self.vars.ip;
        match &d.mechanism {
            Mechanism::All => Step::Match,
            Mechanism::Ip4(net) => match ip {
                IpAddr::V4(a) if net.contains(&a) => Step::Match,
                IpAddr::V6(a) if a.to_ipv4_mapped().is_some_and(|a| net.contains(&a)) => {
                    Step::Match
                }
                _ => Step::NoMatch,
            },
            Mechanism::Ip6(net) => match ip {
                IpAddr::V6(a) if net.contains(&a) => Step::Match,
                _ => Step::NoMatch,
            },
            Mechanism::Include(spec) => {
                let Ok(target) = expand(spec, &self.vars) else {
                    return Step::Stop(Verdict::PermError);
                };
                let v = self.check_host(target, depth + 2).await;
                match v {
                    Verdict::Pass => Step::Match,
                    Verdict::Fail | Verdict::SoftFail | Verdict::Neutral => {
                        // The include's own decision is not the outer one; keep looking.
                        self.decided_by.clear();
                        Step::NoMatch
                    }
                    Verdict::TempError => Step::Stop(Verdict::TempError),
                    Verdict::PermError | Verdict::None => Step::Stop(Verdict::PermError),
                }
            }
            Mechanism::A {
                domain: spec,
                v4,
                v6,
            } => {
                let target = match spec {
                    Some(s) => match expand(s, &self.vars) {
                        Ok(t) => t,
                        Err(_) => return Step::Stop(Verdict::PermError),
                    },
                    None => domain.to_string(),
                };
                self.addresses_match(&target, *v4, *v6).await
            }
            Mechanism::Mx {
                domain: spec,
                v4,
                v6,
            } => {
                let target = match spec {
                    Some(s) => match expand(s, &self.vars) {
                        Ok(t) => t,
                        Err(_) => return Step::Stop(Verdict::PermError),
                    },
                    None => domain.to_string(),
                };
                let ans = self.ctx.query(&target, RecordType::MX).await;
                if let Some(s) = self.void_or_fail(&ans) {
                    return s;
                }
                let mx = ans.mx();
                if mx.len() > 10 {
                    return Step::Stop(Verdict::PermError);
                }
                for (_, host) in mx {
                    let rtype = if ip.is_ipv4() {
                        RecordType::A
                    } else {
                        RecordType::AAAA
                    };
                    let a = self.ctx.query(&host, rtype).await;
                    if a.status.could_not_ask() {
                        return Step::Stop(Verdict::TempError);
                    }
                    if a.ips().iter().any(|x| in_cidr(ip, *x, *v4, *v6)) {
                        return Step::Match;
                    }
                }
                Step::NoMatch
            }
            Mechanism::Ptr(spec) => {
                let target = match spec {
                    Some(s) => match expand(s, &self.vars) {
                        Ok(t) => t,
                        Err(_) => return Step::Stop(Verdict::PermError),
                    },
                    None => domain.to_string(),
                };
                let rev = reverse_name(ip);
                let ans = self.ctx.query(&rev, RecordType::PTR).await;
                // RFC 7208 §5.5: a failed PTR lookup just means no match.
                let target = target.to_ascii_lowercase();
                for name in ans.ptr_names().into_iter().take(10) {
                    let rtype = if ip.is_ipv4() {
                        RecordType::A
                    } else {
                        RecordType::AAAA
                    };
                    let fwd = self.ctx.query(&name, rtype).await;
                    if fwd.ips().contains(&ip)
                        && (name == target || name.ends_with(&format!(".{target}")))
                    {
                        return Step::Match;
                    }
                }
                Step::NoMatch
            }
            Mechanism::Exists(spec) => {
                let Ok(target) = expand(spec, &self.vars) else {
                    return Step::Stop(Verdict::PermError);
                };
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

    async fn addresses_match(&mut self, target: &str, v4: u8, v6: u8) -> Step {
        let ip = self.vars.ip;
        let rtype = if ip.is_ipv4() {
            RecordType::A
        } else {
            RecordType::AAAA
        };
        let ans = self.ctx.query(target, rtype).await;
        if let Some(s) = self.void_or_fail(&ans) {
            return s;
        }
        if ans.ips().iter().any(|x| in_cidr(ip, *x, v4, v6)) {
            Step::Match
        } else {
            Step::NoMatch
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

/// mail-auth's verdict for the same question, through our resolver (see `proxy`).
pub async fn mail_auth_verdict(
    ctx: &Ctx<'_>,
    ip: IpAddr,
    sender: &str,
    helo: &str,
) -> Result<Verdict, String> {
    let auth = ctx.resolver.authenticator().await?;
    let params = mail_auth::spf::verify::SpfParameters::verify_mail_from(
        ip,
        helo,
        "receiver.invalid",
        sender,
    );
    let out = auth.verify_spf(params).await;
    Ok(Verdict::from_mail_auth(out.result()))
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
        assert_eq!(
            expand("%{ir}.%{v}._spf.%{d2}", &v6).unwrap(),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
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
