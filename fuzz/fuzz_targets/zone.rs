//! Zone files given with --zone: any text loads or gives an error naming the file.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use maildrift::dns::zone::Zone;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // The line-finding fallback re-parses prefixes; keep inputs small enough to stay fast.
    if text.len() > 4096 {
        return;
    }
    if let Err(e) = Zone::parse(text, Path::new("fuzz.zone")) {
        assert!(e.to_string().contains("fuzz.zone"), "{e}");
    }
});
