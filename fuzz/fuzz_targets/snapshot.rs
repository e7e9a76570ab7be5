//! Snapshot files: any bytes parse or give a located error; a parsed snapshot survives a
//! write/read round trip unchanged.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use maildrift::snapshot::io;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(snap) = io::parse(text, Path::new("fuzz.json")) {
        let again = io::parse(&io::to_json(&snap), Path::new("fuzz.json")).expect("a written snapshot reads back");
        assert_eq!(snap, again);
    }
});
