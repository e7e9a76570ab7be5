//! Baselines: any text loads or gives an error; accepting a value into a loaded baseline
//! gives a baseline that loads again.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use maildrift::baseline::{Baseline, accept};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("fuzz.toml");
    if Baseline::parse(text, path).is_ok() {
        let change = accept::Change {
            setting: "smtphosts".into(),
            environment: Some("staging".into()),
            value: "relay.example.edu:587".into(),
            clear_overrides_in: vec![],
        };
        if let Ok(new) = accept::apply(text, path, &[change]) {
            Baseline::parse(&new, path).expect("accept never writes an unreadable baseline");
        }
    }
});
