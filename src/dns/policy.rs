//! The DNS part of the baseline: `[dns]`, overridable per environment as
//! `[environments.NAME.dns]`.

use serde::{Deserialize, Serialize};

/// How strict a DMARC policy must at least be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DmarcPolicy {
    None,
    Quarantine,
    Reject,
}

impl DmarcPolicy {
    pub fn parse(s: &str) -> Option<DmarcPolicy> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Some(DmarcPolicy::None),
            "quarantine" => Some(DmarcPolicy::Quarantine),
            "reject" => Some(DmarcPolicy::Reject),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DmarcPolicy::None => "none",
            DmarcPolicy::Quarantine => "quarantine",
            DmarcPolicy::Reject => "reject",
        }
    }
}

/// What the DNS of an environment's mail domains must satisfy.
///
/// Every field is optional in the file; an environment's `[environments.NAME.dns]` table
/// replaces only the fields it sets (see [`DnsPolicy::merged`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsPolicy {
    /// Addresses that really hand Moodle's mail to the internet, when Moodle talks to an
    /// internal relay that forwards to a provider: IPs (`203.0.113.5`), CIDRs
    /// (`203.0.113.0/28`; only its first address is evaluated, SPF matches ranges so one
    /// address stands for the block) or host names (resolved to A/AAAA). When set, SPF is
    /// judged for these instead of the `smtphosts` addresses.
    pub egress: Vec<String>,
    /// `include:` targets each SPF record must reach, e.g. `_spf.provider.example`.
    pub spf_includes: Vec<String>,
    /// Weakest acceptable DMARC policy (`p=`, or `sp=` for subdomains). Unset: not checked.
    pub min_dmarc_policy: Option<DmarcPolicy>,
    /// Smallest acceptable DKIM RSA key in bits. Unset: 2048.
    pub min_dkim_bits: Option<u32>,
    /// Host names that must appear among the MX records of the noreply/envelope domain.
    pub required_mx: Vec<String>,
    /// Domains allowed to receive DMARC aggregate/failure reports (`rua=`/`ruf=`).
    /// Empty: any destination is accepted (authorisation is still checked).
    pub allowed_rua: Vec<String>,
    /// Extra From domains to check besides `noreplyaddress` and `allowedemaildomains`.
    pub sender_domains: Vec<String>,
}

impl DnsPolicy {
    pub const DEFAULT_MIN_DKIM_BITS: u32 = 2048;

    /// The policy for one environment: `over`'s set fields win, the rest come from `self`.
    /// A list set to `[]` in the override clears the base list on purpose.
    pub fn merged(&self, over: &DnsPolicy) -> DnsPolicy {
        // Lists can't tell "absent" from "empty" after `serde(default)`; an override that
        // wants to clear a list has no way to say so, so a non-empty list replaces and an
        // empty one inherits. That is the common case (add or change, rarely clear).
        fn pick(base: &[String], over: &[String]) -> Vec<String> {
            if over.is_empty() {
                base.to_vec()
            } else {
                over.to_vec()
            }
        }
        DnsPolicy {
            egress: pick(&self.egress, &over.egress),
            spf_includes: pick(&self.spf_includes, &over.spf_includes),
            min_dmarc_policy: over.min_dmarc_policy.or(self.min_dmarc_policy),
            min_dkim_bits: over.min_dkim_bits.or(self.min_dkim_bits),
            required_mx: pick(&self.required_mx, &over.required_mx),
            allowed_rua: pick(&self.allowed_rua, &over.allowed_rua),
            sender_domains: pick(&self.sender_domains, &over.sender_domains),
        }
    }

    pub fn min_dkim_bits(&self) -> u32 {
        self.min_dkim_bits.unwrap_or(Self::DEFAULT_MIN_DKIM_BITS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_replaces_only_what_it_sets() {
        let base: DnsPolicy = toml::from_str(
            "egress = [\"192.0.2.10\"]\nmin_dmarc_policy = \"quarantine\"\nspf_includes = [\"_spf.example.net\"]",
        )
        .unwrap();
        let over: DnsPolicy = toml::from_str("egress = [\"198.51.100.0/28\"]").unwrap();
        let m = base.merged(&over);
        assert_eq!(m.egress, vec!["198.51.100.0/28"]);
        assert_eq!(m.min_dmarc_policy, Some(DmarcPolicy::Quarantine));
        assert_eq!(m.spf_includes, vec!["_spf.example.net"]);
        assert_eq!(m.min_dkim_bits(), 2048);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        assert!(toml::from_str::<DnsPolicy>("egres = []").is_err());
    }
}
