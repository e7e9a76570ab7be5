//! Build-level rules from the client hardening (README, Security): no unsafe code, a stripped
//! release binary, and no dependency version with a known advisory that concerned us. These
//! read the manifest, the lock file and the crate roots, so a change that drops a rule fails
//! here rather than in a review.

use std::path::Path;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The versions of `name` in Cargo.lock.
fn locked_versions(name: &str) -> Vec<Vec<u64>> {
    let lock: toml::Value = toml::from_str(&read("Cargo.lock")).unwrap();
    lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"].as_str() == Some(name))
        .map(|p| {
            p["version"]
                .as_str()
                .unwrap()
                .split(['.', '-', '+'])
                .take(3)
                .map(|n| n.parse().unwrap_or(0))
                .collect()
        })
        .collect()
}

#[test]
fn library_and_binary_forbid_unsafe_code() {
    for root in ["src/lib.rs", "src/main.rs"] {
        let text = read(root);
        assert!(
            text.lines().any(|l| l.trim() == "#![forbid(unsafe_code)]"),
            "{root} must say #![forbid(unsafe_code)]"
        );
    }
}

#[test]
fn release_binary_is_stripped_of_symbols() {
    let manifest: toml::Value = toml::from_str(&read("Cargo.toml")).unwrap();
    assert_eq!(
        manifest["profile"]["release"]["strip"].as_str(),
        Some("symbols"),
        "[profile.release] strip = \"symbols\""
    );
}

#[test]
fn no_locked_dependency_is_one_with_a_known_advisory() {
    // RUSTSEC-2026-0194 and RUSTSEC-2026-0195: fixed in quick-xml 0.41.0.
    for v in locked_versions("quick-xml") {
        assert!(
            v >= vec![0, 41, 0],
            "quick-xml {v:?} has RUSTSEC-2026-0194/0195"
        );
    }
    // RUSTSEC-2025-0134: unmaintained, and never used here.
    assert!(
        locked_versions("rustls-pemfile").is_empty(),
        "rustls-pemfile is unmaintained and unused (reqwest reads the ca_file PEM bundles)"
    );
}
