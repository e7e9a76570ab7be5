//! The TXT record parsers we wrote: SPF (with macro expansion), DMARC and DKIM key records,
//! and DKIM keys as Moodle reports them. Any text parses or gives an error, never a panic.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use libfuzzer_sys::fuzz_target;
use maildrift::dns::{dkim, dmarc, spf};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(record) = spf::parse(text) {
        let _ = format!("{record:?}");
    }
    let vars = spf::MacroVars {
        ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 25)),
        sender: "noreply@moodle.example.edu".into(),
        helo: "relay.example.edu".into(),
        domain: "moodle.example.edu".into(),
        // With names, so %{p} exercises the choice among validated names too.
        validated: Some(vec!["relay.example.edu".into(), "moodle.example.edu".into()]),
    };
    let _ = spf::expand(text, &vars);
    let _ = dmarc::parse(text);
    let _ = dmarc::report_domain(text);
    let _ = dmarc::org_domain(text);
    if let Ok(rec) = dkim::parse_record(text) {
        let _ = dkim::key_from_record(&rec);
    }
    let _ = dkim::key_from_snapshot(text);
    let _ = dkim::key_from_spki(data);
});
