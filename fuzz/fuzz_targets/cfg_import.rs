//! `snapshot import`: any input converts or gives an error, and the secret value planted in
//! the input never appears in the snapshot or the error.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use maildrift::snapshot::{import, io};

const SECRET: &str = "Sup3r-S3cret-Passw0rd";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Plant the secret in the fuzzer's JSON object so leaks are detectable.
    let input = match text.trim_start().strip_prefix('{') {
        Some(rest) => format!("{{\"smtppass\":\"{SECRET}\",{rest}"),
        None => text.to_string(),
    };
    let meta = import::ImportMeta {
        environment: "fuzz".into(),
        url: None,
        taken_at: jiff::Timestamp::UNIX_EPOCH,
    };
    match import::from_cfg_json(&input, Path::new("cfg.json"), &meta) {
        Ok(snap) => assert!(!io::to_json(&snap).contains(SECRET)),
        Err(e) => assert!(!e.to_string().contains(SECRET), "{e}"),
    }
});
