//! The config file: any text loads or gives an error naming the file.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use maildrift::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(e) = Config::parse(text, Some(Path::new("fuzz.toml"))) {
        assert!(e.to_string().contains("fuzz.toml") || e.to_string().contains("environment"), "{e}");
    }
});
