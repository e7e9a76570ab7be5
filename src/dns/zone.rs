//! `--zone` files: RFC 1035 master files answered before (or, offline, instead of) live DNS.
//!
//! Parsing is hickory-proto's own master-file parser; this module only indexes the result and
//! answers questions the way an authoritative server would (NXDOMAIN vs NODATA, CNAME at a
//! name, empty non-terminals). Wildcards and delegations inside a zone are not interpreted:
//! the files are meant for audits and demos, not for serving the internet.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use hickory_proto::rr::{Name, Record, RecordType};
use hickory_proto::serialize::txt::Parser;

use super::DnsError;

/// One loaded zone.
#[derive(Debug)]
pub struct Zone {
    pub origin: Name,
    pub path: PathBuf,
    records: HashMap<(Name, RecordType), Vec<Record>>,
    /// Every owner name and every name between an owner and the origin: a name in here
    /// exists (NODATA for a missing type), a name outside it does not (NXDOMAIN).
    names: HashSet<Name>,
}

/// What a zone says about one question.
#[derive(Debug)]
pub enum ZoneAnswer {
    Records(Vec<Record>),
    Cname(Record),
    NoData,
    NxDomain,
}

impl Zone {
    /// Loads a master file. Without `$ORIGIN` the origin is the file name minus `.zone`
    /// (`example.edu.zone` → `example.edu.`), which is how zone files are usually named.
    pub fn load(path: &Path) -> Result<Zone, DnsError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            DnsError::Setup(format!("cannot read zone file {}: {e}", path.display()))
        })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Zone, DnsError> {
        let origin = default_origin(path);
        let parsed = Parser::new(text, Some(path.to_path_buf()), origin.clone()).parse();
        let (origin, sets) = match parsed {
            Ok(v) => v,
            Err(e) => {
                // hickory's parser reports what went wrong but not where; find the first line
                // at which a prefix of the file stops parsing so the user gets file:line.
                let line = first_bad_line(text, path, origin.as_ref());
                return Err(DnsError::ZoneSyntax {
                    file: path.display().to_string(),
                    line,
                    message: e.to_string(),
                });
            }
        };
        let origin = origin.to_lowercase();
        let mut records: HashMap<(Name, RecordType), Vec<Record>> = HashMap::new();
        let mut names = HashSet::new();
        for (key, set) in sets {
            let owner = Name::from(key.name).to_lowercase();
            let mut n = owner.clone();
            while origin.zone_of(&n) && names.insert(n.clone()) && n != origin {
                n = n.base_name();
            }
            records
                .entry((owner, key.record_type))
                .or_default()
                .extend(set.records_without_rrsigs().cloned());
        }
        names.insert(origin.clone());
        Ok(Zone {
            origin,
            path: path.to_path_buf(),
            records,
            names,
        })
    }

    /// True when `name` is at or below this zone's origin.
    pub fn contains(&self, name: &Name) -> bool {
        self.origin.zone_of(name)
    }

    pub fn lookup(&self, name: &Name, rtype: RecordType) -> ZoneAnswer {
        let name = name.to_lowercase();
        if let Some(r) = self.records.get(&(name.clone(), rtype)) {
            return ZoneAnswer::Records(r.clone());
        }
        if rtype != RecordType::CNAME
            && let Some(c) = self
                .records
                .get(&(name.clone(), RecordType::CNAME))
                .and_then(|v| v.first())
        {
            return ZoneAnswer::Cname(c.clone());
        }
        if self.names.contains(&name) {
            ZoneAnswer::NoData
        } else {
            ZoneAnswer::NxDomain
        }
    }
}

fn default_origin(path: &Path) -> Option<Name> {
    let file = path.file_name()?.to_str()?;
    let stem = file.strip_suffix(".zone").unwrap_or(file);
    let stem = stem.strip_suffix(".db").unwrap_or(stem);
    // A dotless stem like `demo` would become a top-level domain; only trust names with dots.
    if !stem.contains('.') {
        return None;
    }
    Name::from_str_relaxed(stem).ok().map(|mut n| {
        n.set_fqdn(true);
        n
    })
}

/// The 1-based line of the first record that breaks the parse. Cuts are only tried where
/// parentheses are balanced, so a multi-line record is never split.
fn first_bad_line(text: &str, path: &Path, origin: Option<&Name>) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let mut depth: i32 = 0;
    let mut start = 0;
    for (i, line) in lines.iter().enumerate() {
        depth += paren_delta(line);
        if depth > 0 {
            continue;
        }
        depth = 0;
        let prefix = lines[..=i].join("\n");
        if Parser::new(prefix, Some(path.to_path_buf()), origin.cloned())
            .parse()
            .is_err()
        {
            return start + 1;
        }
        start = i + 1;
    }
    lines.len().max(1)
}

fn paren_delta(line: &str) -> i32 {
    let mut quoted = false;
    let mut delta = 0;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => break,
            '(' if !quoted => delta += 1,
            ')' if !quoted => delta -= 1,
            _ => {}
        }
    }
    delta
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_error_names_its_line() {
        let text = "$ORIGIN example.org.\n$TTL 300\n@ IN TXT \"ok\"\nwww IN A 999.1.1.1\n";
        let err = Zone::parse(text, Path::new("t.zone")).unwrap_err();
        assert!(err.to_string().contains("t.zone:4"), "{err}");
    }

    #[test]
    fn empty_non_terminal_is_nodata_and_unknown_is_nxdomain() {
        let text = "$ORIGIN example.org.\n$TTL 300\na.b IN A 192.0.2.1\n";
        let z = Zone::parse(text, Path::new("x")).unwrap();
        let b = Name::from_ascii("b.example.org.").unwrap();
        let c = Name::from_ascii("c.example.org.").unwrap();
        assert!(matches!(z.lookup(&b, RecordType::A), ZoneAnswer::NoData));
        assert!(matches!(z.lookup(&c, RecordType::A), ZoneAnswer::NxDomain));
    }
}
