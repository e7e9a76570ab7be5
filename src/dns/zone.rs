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
    Cname(Box<Record>),
    NoData,
    NxDomain,
}

impl Zone {
    /// Loads a master file. Without `$ORIGIN` the origin is the file name minus `.zone`
    /// (`example.edu.zone` → `example.edu.`), which is how zone files are usually named.
    pub fn load(path: &Path) -> Result<Vec<Zone>, DnsError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            DnsError::Setup(format!("cannot read zone file {}: {e}", path.display()))
        })?;
        Self::parse(&text, path)
    }

    /// Parses a master file. A file may hold several zones (each starts with its SOA, after
    /// an `$ORIGIN`), so a demo can ship its forward and reverse zones as one file; records
    /// belong to the closest SOA above them, or to the file's origin when none is.
    pub fn parse(text: &str, path: &Path) -> Result<Vec<Zone>, DnsError> {
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
        let mut origins: Vec<Name> = sets
            .keys()
            .filter(|k| k.record_type == RecordType::SOA)
            .map(|k| Name::from(k.name.clone()).to_lowercase())
            .collect();
        let file_origin = origin.to_lowercase();
        let mut zones: Vec<Zone> = Vec::new();
        let mut zone_for = |owner: &Name, zones: &mut Vec<Zone>| -> usize {
            let o = origins
                .iter()
                .filter(|o| o.zone_of(owner))
                .max_by_key(|o| o.num_labels())
                .cloned()
                .unwrap_or_else(|| file_origin.clone());
            if !origins.contains(&o) {
                origins.push(o.clone());
            }
            match zones.iter().position(|z| z.origin == o) {
                Some(i) => i,
                None => {
                    let mut names = HashSet::new();
                    names.insert(o.clone());
                    zones.push(Zone {
                        origin: o,
                        path: path.to_path_buf(),
                        records: HashMap::new(),
                        names,
                    });
                    zones.len() - 1
                }
            }
        };
        for (key, set) in sets {
            let owner = Name::from(key.name).to_lowercase();
            let i = zone_for(&owner, &mut zones);
            let zone = &mut zones[i];
            let mut n = owner.clone();
            while zone.origin.zone_of(&n) && zone.names.insert(n.clone()) && n != zone.origin {
                n = n.base_name();
            }
            zone.records
                .entry((owner, key.record_type))
                .or_default()
                .extend(set.records_without_rrsigs().cloned());
        }
        if zones.is_empty() {
            zone_for(&file_origin, &mut zones);
        }
        Ok(zones)
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
            return ZoneAnswer::Cname(Box::new(c.clone()));
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
    fn one_file_can_hold_forward_and_reverse_zones() {
        let text = "$ORIGIN example.org.\n$TTL 300\n@ IN SOA ns hm 1 2 3 4 5\nmail IN A 192.0.2.5\n\
                    $ORIGIN 2.0.192.in-addr.arpa.\n@ IN SOA ns.example.org. hm.example.org. 1 2 3 4 5\n5 IN PTR mail.example.org.\n";
        let zones = Zone::parse(text, Path::new("x")).unwrap();
        assert_eq!(zones.len(), 2);
        let rev = zones
            .iter()
            .find(|z| z.origin.to_ascii() == "2.0.192.in-addr.arpa.")
            .unwrap();
        let n = Name::from_ascii("5.2.0.192.in-addr.arpa.").unwrap();
        assert!(matches!(
            rev.lookup(&n, RecordType::PTR),
            ZoneAnswer::Records(_)
        ));
    }

    #[test]
    fn empty_non_terminal_is_nodata_and_unknown_is_nxdomain() {
        let text = "$ORIGIN example.org.\n$TTL 300\na.b IN A 192.0.2.1\n";
        let z = Zone::parse(text, Path::new("x")).unwrap().remove(0);
        let b = Name::from_ascii("b.example.org.").unwrap();
        let c = Name::from_ascii("c.example.org.").unwrap();
        assert!(matches!(z.lookup(&b, RecordType::A), ZoneAnswer::NoData));
        assert!(matches!(z.lookup(&c, RecordType::A), ZoneAnswer::NxDomain));
    }
}
