//! Every DNS finding code is unique, in its range, and documented.

#[test]
fn every_dns_code_is_documented_once_and_in_its_range() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/findings-dns.md"))
        .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for k in maildrift::dns::KINDS {
        assert!(seen.insert(k.code), "duplicate {}", k.code);
        let range = match &k.code[..3] {
            "MD4" => "spf",
            "MD5" => "dkim",
            "MD6" => "dmarc",
            "MD7" => "mx/relay/dns",
            _ => panic!("{} outside MD4xx-MD7xx", k.code),
        };
        assert!(!range.is_empty());
        let row = format!("| {} | {} | {} |", k.code, k.name, k.severity);
        assert!(
            doc.contains(&row),
            "docs/findings-dns.md lacks the row for {}: {row}",
            k.code
        );
        assert!(!k.remedy.is_empty());
    }
}
