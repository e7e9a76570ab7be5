//! Making text from outside (a Moodle site's answers, DNS data) harmless for a terminal, once,
//! where it enters the program.
//!
//! A site controls its name, its settings, its error messages and the SMTP replies quoted in
//! its failure texts; whoever runs a DNS zone controls TXT and PTR data. Printed raw, an escape
//! sequence in any of them can retitle the window, clear the screen, or draw a fake "all
//! checks passed"; a bidirectional override can make text read differently from what it is.
//! Rather than trusting every output path to escape, such text is cleaned as it is decoded, so
//! nothing downstream (tables, errors, logs, snapshots, reports) ever holds it.
//!
//! Replaced by U+FFFD (so the reader sees that something was there): C0 controls except tab
//! and line feed, a carriage return not followed by a line feed (it returns the cursor to
//! overwrite the line; before a line feed it is the harmless CRLF of Windows-style values),
//! DEL, the C1 controls U+0080–U+009F (U+009B is a one-character CSI), and the bidirectional
//! embeddings, overrides and isolates U+202A–U+202E and U+2066–U+2069.

use std::borrow::Cow;

/// What a removed character becomes.
pub const REPLACEMENT: char = '\u{FFFD}';

/// Unsafe wherever it stands; a carriage return depends on what follows (see [`clean`]).
fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{7F}'..='\u{9F}'
        | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every unsafe character (see the module docs) replaced; borrowed when there was
/// none, which is nearly always.
pub fn clean(text: &str) -> Cow<'_, str> {
    let needs = text
        .char_indices()
        .any(|(i, c)| is_unsafe(c) || (c == '\r' && !text[i + 1..].starts_with('\n')));
    if !needs {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let keep = match c {
            '\r' => chars.peek() == Some(&'\n'),
            c => !is_unsafe(c),
        };
        out.push(if keep { c } else { REPLACEMENT });
    }
    Cow::Owned(out)
}

/// [`clean`] into an owned string.
pub fn clean_string(text: &str) -> String {
    clean(text).into_owned()
}

/// Cleans every string in a JSON document, object keys included, in place.
pub fn clean_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            if let Cow::Owned(cleaned) = clean(s) {
                *s = cleaned;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(clean_json),
        Value::Object(map) => {
            let dirty_keys: Vec<String> = map
                .keys()
                .filter(|k| matches!(clean(k), Cow::Owned(_)))
                .cloned()
                .collect();
            for key in dirty_keys {
                if let Some(v) = map.remove(&key) {
                    map.insert(clean_string(&key), v);
                }
            }
            map.values_mut().for_each(clean_json);
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_c1_controls_are_replaced() {
        assert_eq!(clean("a\x1b]0;pwned\x07b"), "a\u{FFFD}]0;pwned\u{FFFD}b");
        assert_eq!(clean("\x1b[2J\x1b[H"), "\u{FFFD}[2J\u{FFFD}[H");
        assert_eq!(clean("x\u{9b}31m"), "x\u{FFFD}31m");
        assert_eq!(clean("nul\0del\x7f"), "nul\u{FFFD}del\u{FFFD}");
    }

    #[test]
    fn bidi_overrides_and_isolates_are_replaced() {
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}',
        ] {
            assert_eq!(clean(&format!("ok{c}kay")), "ok\u{FFFD}kay", "{:?}", c);
        }
    }

    #[test]
    fn line_structure_and_ordinary_text_are_kept_as_they_are() {
        for text in [
            "example.org\nexample.edu",
            "example.org\r\nexample.edu",
            "a\tb",
            "Université d'Été — 東京 ✓",
            "",
        ] {
            assert!(matches!(clean(text), Cow::Borrowed(_)), "{text:?}");
        }
        // A lone carriage return would overwrite the line it is on.
        assert_eq!(
            clean("FAILED\rall checks passed"),
            "FAILED\u{FFFD}all checks passed"
        );
        assert_eq!(clean("end\r"), "end\u{FFFD}");
    }

    #[test]
    fn json_strings_and_keys_are_cleaned_everywhere() {
        let mut v = serde_json::json!({
            "sitename": "\u{1b}]0;x\u{7}Site",
            "settings": [{"name": "smtphosts", "value": "relay\u{202E}moc.evil"}],
            "k\u{1b}": 1,
            "n": 2,
        });
        clean_json(&mut v);
        let text = v.to_string();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{202E}') && !text.contains('\u{7}'),
            "{text}"
        );
        assert_eq!(v["settings"][0]["value"], "relay\u{FFFD}moc.evil");
        assert_eq!(v["k\u{FFFD}"], 1);
        assert_eq!(v["n"], 2);
    }
}
