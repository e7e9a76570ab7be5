//! Finding codes of the DNS checks: MD4xx SPF, MD5xx DKIM, MD6xx DMARC and alignment,
//! MD7xx MX, reverse DNS, relays and "DNS could not be asked". Documented in
//! docs/findings-dns.md; never reuse a code for another meaning.

use crate::findings::{Kind, Severity};

const fn k(
    code: &'static str,
    name: &'static str,
    severity: Severity,
    category: &'static str,
    remedy: &'static str,
) -> Kind {
    Kind {
        code,
        name,
        severity,
        category,
        remedy,
    }
}
use Severity::{Error, Info, Warning};

pub const SPF_MISSING: Kind = k(
    "MD401",
    "spf-missing",
    Error,
    "spf",
    "Publish one TXT record starting with v=spf1 that lists every host sending for the domain.",
);
pub const SPF_MULTIPLE: Kind = k(
    "MD402",
    "spf-multiple-records",
    Error,
    "spf",
    "Merge the v=spf1 records into one: receivers treat several as a permanent error.",
);
pub const SPF_SYNTAX: Kind = k(
    "MD403",
    "spf-syntax",
    Error,
    "spf",
    "Correct the SPF term named in the message; receivers reject the whole record otherwise.",
);
pub const SPF_TOO_MANY_LOOKUPS: Kind = k(
    "MD404",
    "spf-lookup-limit",
    Error,
    "spf",
    "Bring DNS-querying terms (include, a, mx, ptr, exists, redirect) to 10 or fewer, e.g. replace a/mx with ip4/ip6.",
);
pub const SPF_VOID_LOOKUPS: Kind = k(
    "MD405",
    "spf-void-lookups",
    Error,
    "spf",
    "Remove terms that point at names without records; more than two is a permanent error.",
);
pub const SPF_PASS_ALL: Kind = k(
    "MD406",
    "spf-pass-all",
    Error,
    "spf",
    "Replace +all with -all or ~all: +all authorises every host on the internet.",
);
pub const SPF_WEAK_ALL: Kind = k(
    "MD407",
    "spf-no-fail-all",
    Warning,
    "spf",
    "End the record with -all (or ~all) so unlisted hosts are not left neutral.",
);
pub const SPF_PTR: Kind = k(
    "MD408",
    "spf-ptr",
    Warning,
    "spf",
    "Replace the ptr mechanism with ip4/ip6 or a: it is slow, unreliable and deprecated by RFC 7208.",
);
pub const SPF_INCLUDE_MISSING: Kind = k(
    "MD409",
    "spf-required-include-missing",
    Error,
    "spf",
    "Add the include: the policy requires, or correct [dns].spf_includes.",
);
pub const SPF_NOT_AUTHORISED: Kind = k(
    "MD410",
    "spf-sender-not-authorised",
    Error,
    "spf",
    "Authorise the relay/egress address in the envelope domain's SPF record (ip4:/ip6: or the provider's include).",
);
pub const SPF_PASS: Kind = k("MD412", "spf-pass", Info, "spf", "Nothing to do.");

pub const DKIM_UNSIGNED: Kind = k(
    "MD501",
    "dkim-not-configured",
    Warning,
    "dkim",
    "Set emaildkimselector, put the private key in dataroot/dkim/<domain>/<selector>.private and publish its public key.",
);
pub const DKIM_MISSING: Kind = k(
    "MD502",
    "dkim-record-missing",
    Error,
    "dkim",
    "Publish the selector's public key as TXT at <selector>._domainkey.<domain>.",
);
pub const DKIM_INVALID: Kind = k(
    "MD503",
    "dkim-record-invalid",
    Error,
    "dkim",
    "Republish the key record as v=DKIM1; k=rsa|ed25519; p=<base64 key>.",
);
pub const DKIM_REVOKED: Kind = k(
    "MD504",
    "dkim-key-revoked",
    Error,
    "dkim",
    "Publish the current public key, or switch Moodle to a selector whose key is published.",
);
pub const DKIM_TESTING: Kind = k(
    "MD505",
    "dkim-testing-mode",
    Warning,
    "dkim",
    "Remove t=y once signing works: receivers may ignore signatures in testing mode.",
);
pub const DKIM_WEAK: Kind = k(
    "MD506",
    "dkim-key-too-small",
    Error,
    "dkim",
    "Generate a key of at least the policy's size (2048-bit RSA or ed25519) under a new selector.",
);
pub const DKIM_MISMATCH: Kind = k(
    "MD507",
    "dkim-key-mismatch",
    Error,
    "dkim",
    "Publish the public key of Moodle's private key, or install the private key that matches the published one.",
);
pub const DKIM_NO_KEYFILE: Kind = k(
    "MD508",
    "dkim-no-private-key",
    Error,
    "dkim",
    "Place the private key at $CFG->dataroot/dkim/<domain>/<selector>.private (readable by the web server).",
);
pub const DKIM_MULTIPLE: Kind = k(
    "MD509",
    "dkim-multiple-records",
    Error,
    "dkim",
    "Keep exactly one key record per selector.",
);
pub const DKIM_OK: Kind = k("MD510", "dkim-key-matches", Info, "dkim", "Nothing to do.");

pub const DMARC_MISSING: Kind = k(
    "MD601",
    "dmarc-missing",
    Error,
    "dmarc",
    "Publish v=DMARC1; p=none; rua=mailto:... at _dmarc.<domain> and tighten p= once reports are clean.",
);
pub const DMARC_MULTIPLE: Kind = k(
    "MD602",
    "dmarc-multiple-records",
    Error,
    "dmarc",
    "Keep one v=DMARC1 record: with several, receivers apply none.",
);
pub const DMARC_INVALID: Kind = k(
    "MD603",
    "dmarc-invalid",
    Error,
    "dmarc",
    "Correct the tag named in the message; v=DMARC1 must come first and p= is required.",
);
pub const DMARC_WEAK: Kind = k(
    "MD604",
    "dmarc-policy-too-weak",
    Warning,
    "dmarc",
    "Raise p= (or sp= for subdomains) to the policy minimum once aggregate reports show aligned mail.",
);
pub const DMARC_PARTIAL: Kind = k(
    "MD605",
    "dmarc-partial",
    Warning,
    "dmarc",
    "Remove pct= (or set 100) and t=y so the policy applies to all mail.",
);
pub const DMARC_REPORT_URI: Kind = k(
    "MD606",
    "dmarc-report-uri-invalid",
    Warning,
    "dmarc",
    "Write rua=/ruf= as comma-separated mailto: URIs.",
);
pub const DMARC_REPORT_UNAUTHORISED: Kind = k(
    "MD607",
    "dmarc-report-unauthorised",
    Warning,
    "dmarc",
    "Have the destination publish v=DMARC1 at <domain>._report._dmarc.<destination>, or report to your own domain.",
);
pub const DMARC_REPORT_NOT_ALLOWED: Kind = k(
    "MD608",
    "dmarc-report-destination-not-allowed",
    Warning,
    "dmarc",
    "Send reports only to destinations in [dns].allowed_rua, or add the destination there.",
);
pub const DMARC_ORG_FALLBACK: Kind = k(
    "MD609",
    "dmarc-from-organisational-domain",
    Info,
    "dmarc",
    "Nothing to do unless this domain needs its own policy.",
);
pub const DMARC_WILL_FAIL: Kind = k(
    "MD610",
    "dmarc-will-fail",
    Error,
    "dmarc",
    "Make SPF pass for an aligned envelope domain, or sign with an aligned DKIM key whose public key is published.",
);
pub const DMARC_PASS: Kind = k(
    "MD611",
    "dmarc-will-pass",
    Info,
    "dmarc",
    "Nothing to do; passing through both SPF and DKIM survives forwarding better than one.",
);

pub const MX_MISSING: Kind = k(
    "MD701",
    "mx-missing",
    Warning,
    "mx",
    "Publish an MX for the domain so bounces and replies to Moodle's mail have somewhere to go.",
);
pub const MX_NULL: Kind = k(
    "MD702",
    "mx-null",
    Warning,
    "mx",
    "Replace the null MX if bounces or replies must reach someone.",
);
pub const MX_REQUIRED_MISSING: Kind = k(
    "MD703",
    "mx-required-missing",
    Error,
    "mx",
    "Point the MX at the hosts [dns].required_mx names, or correct the policy.",
);
pub const RELAY_PHP_MAIL: Kind = k(
    "MD704",
    "relay-php-mail",
    Warning,
    "relay",
    "Set smtphosts to your relay, or list the real sending addresses in [dns].egress.",
);
pub const RELAY_UNRESOLVABLE: Kind = k(
    "MD705",
    "relay-unresolvable",
    Error,
    "relay",
    "Correct the smtphosts/egress host name: it has no A or AAAA record.",
);
pub const RELAY_PRIVATE: Kind = k(
    "MD706",
    "relay-private-address",
    Warning,
    "relay",
    "Name the addresses that reach the internet in [dns].egress; a private relay address says nothing about SPF.",
);
pub const PTR_MISSING: Kind = k(
    "MD707",
    "ptr-missing",
    Warning,
    "relay",
    "Ask the address owner for a PTR record naming a host that resolves back to the address.",
);
pub const PTR_MISMATCH: Kind = k(
    "MD708",
    "ptr-mismatch",
    Warning,
    "relay",
    "Make the PTR name's A/AAAA include the address (forward-confirmed reverse DNS).",
);
pub const NO_SENDER_DOMAIN: Kind = k(
    "MD709",
    "sender-domain-unknown",
    Error,
    "relay",
    "Set noreplyaddress to an address in a domain you control.",
);
pub const PTR_OK: Kind = k("MD710", "ptr-confirmed", Info, "relay", "Nothing to do.");
pub const PTR_NOT_HOST_NAME: Kind = k(
    "MD711",
    "ptr-not-host-name",
    Warning,
    "relay",
    "Make the relay's PTR name its host name (the name it gives in HELO), or name the relay after its PTR.",
);
pub const PTR_OTHER_PARTY: Kind = k(
    "MD712",
    "ptr-other-party",
    Warning,
    "relay",
    "Send through a relay whose reverse DNS names your organisation (ask the address's owner for a PTR in your domain), or list the real egress in [dns].egress.",
);
pub const DNS_UNANSWERED: Kind = k(
    "MD790",
    "dns-could-not-ask",
    Error,
    "dns",
    "Check the resolver (--dns-server), network and the domain's nameservers, or add the zone with --zone; this is not a missing record.",
);

pub const ALL: &[Kind] = &[
    SPF_MISSING,
    SPF_MULTIPLE,
    SPF_SYNTAX,
    SPF_TOO_MANY_LOOKUPS,
    SPF_VOID_LOOKUPS,
    SPF_PASS_ALL,
    SPF_WEAK_ALL,
    SPF_PTR,
    SPF_INCLUDE_MISSING,
    SPF_NOT_AUTHORISED,
    SPF_PASS,
    DKIM_UNSIGNED,
    DKIM_MISSING,
    DKIM_INVALID,
    DKIM_REVOKED,
    DKIM_TESTING,
    DKIM_WEAK,
    DKIM_MISMATCH,
    DKIM_NO_KEYFILE,
    DKIM_MULTIPLE,
    DKIM_OK,
    DMARC_MISSING,
    DMARC_MULTIPLE,
    DMARC_INVALID,
    DMARC_WEAK,
    DMARC_PARTIAL,
    DMARC_REPORT_URI,
    DMARC_REPORT_UNAUTHORISED,
    DMARC_REPORT_NOT_ALLOWED,
    DMARC_ORG_FALLBACK,
    DMARC_WILL_FAIL,
    DMARC_PASS,
    MX_MISSING,
    MX_NULL,
    MX_REQUIRED_MISSING,
    RELAY_PHP_MAIL,
    RELAY_UNRESOLVABLE,
    RELAY_PRIVATE,
    PTR_MISSING,
    PTR_MISMATCH,
    NO_SENDER_DOMAIN,
    PTR_OK,
    PTR_NOT_HOST_NAME,
    PTR_OTHER_PARTY,
    DNS_UNANSWERED,
];
