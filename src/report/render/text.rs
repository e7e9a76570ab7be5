//! Small text helpers shared by the renderers: making remote values safe to print, wrapping,
//! colouring and counting.

use unicode_width::UnicodeWidthStr;

/// Makes a value read from a Moodle safe for a terminal: control characters other than new
/// lines are shown as escapes (`\r`, `\t`, `\u{1b}`), so a stored value can neither move the
/// cursor nor smuggle colour codes into output that is meant to be plain.
pub fn visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push('\n'),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

/// Terminal styles the renderers use. Kept to a handful so output looks the same everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    Bold,
    Dim,
    Red,
    Yellow,
    Blue,
    Green,
    Cyan,
}

impl Paint {
    fn code(self) -> &'static str {
        match self {
            Paint::Bold => "1",
            Paint::Dim => "2",
            Paint::Red => "1;31",
            Paint::Yellow => "1;33",
            Paint::Blue => "34",
            Paint::Green => "32",
            Paint::Cyan => "36",
        }
    }
}

/// Wraps `s` in an ANSI style when `color` is on; otherwise returns it unchanged. Multi-line
/// text is styled line by line so that a table cell split across rows keeps its style.
pub fn paint(s: &str, p: Paint, color: bool) -> String {
    if !color || s.is_empty() {
        return s.to_string();
    }
    s.split('\n')
        .map(|line| {
            if line.is_empty() {
                String::new()
            } else {
                format!("\x1b[{}m{line}\x1b[0m", p.code())
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `1 error`, `2 errors`; `info` does not take a plural.
pub fn count(n: usize, singular: &str, plural: &str) -> String {
    if n == 1 {
        format!("{n} {singular}")
    } else {
        format!("{n} {plural}")
    }
}

/// Display width of plain text (no ANSI codes).
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Greedy word wrap of plain text to `max` columns; `None` leaves it as it is. Words longer
/// than a line are broken, so no line ever exceeds `max`. Continuation lines get `indent`.
pub fn wrap(s: &str, max: Option<u16>, indent: &str) -> String {
    let Some(max) = max.map(usize::from) else {
        return s.to_string();
    };
    // A width narrower than the indent plus a short word would loop forever or be unreadable.
    let max = max.max(width(indent) + 10);
    let mut out: Vec<String> = Vec::new();
    for paragraph in s.split('\n') {
        // Keep a paragraph's own indentation on its first line.
        let lead = &paragraph[..paragraph.len() - paragraph.trim_start_matches(' ').len()];
        let mut line = if out.is_empty() {
            lead.to_string()
        } else {
            format!("{indent}{lead}")
        };
        let mut empty = true;
        for word in paragraph.split_whitespace() {
            if !empty && width(&line) + 1 + width(word) > max {
                out.push(std::mem::replace(&mut line, indent.to_string()));
                empty = true;
            }
            if !empty {
                line.push(' ');
            }
            // Break words that cannot fit on a line of their own (long URLs, DKIM keys).
            for c in word.chars() {
                if width(&line) + width(c.encode_utf8(&mut [0; 4])) > max {
                    out.push(std::mem::replace(&mut line, indent.to_string()));
                }
                line.push(c);
            }
            empty = false;
        }
        out.push(line);
    }
    out.join("\n")
}

/// Joins `parts` with `sep`, starting a new line between parts rather than inside one where
/// it can, so `production ok` is never split across lines.
pub fn wrap_parts(parts: &[String], sep: &str, max: Option<u16>, indent: &str) -> String {
    let Some(limit) = max.map(usize::from) else {
        return parts.join(sep);
    };
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for part in parts {
        if line.is_empty() {
            line = if lines.is_empty() {
                part.clone()
            } else {
                format!("{indent}{part}")
            };
        } else if width(&line) + width(sep) + width(part) <= limit {
            line.push_str(sep);
            line.push_str(part);
        } else {
            lines.push(line.trim_end().to_string());
            line = format!("{indent}{part}");
        }
    }
    lines.push(line);
    // A part longer than a line on its own is wrapped at spaces like any text.
    lines
        .iter()
        .map(|l| {
            if width(l) <= limit {
                l.clone()
            } else {
                wrap(l, max, indent)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(visible("a\x1b[31mb\r\n\tc"), "a\\u{1b}[31mb\\r\n\\tc");
    }

    #[test]
    fn paint_without_colour_is_the_identity() {
        assert_eq!(paint("error", Paint::Red, false), "error");
        assert_eq!(
            paint("a\nb", Paint::Dim, true),
            "\x1b[2ma\x1b[0m\n\x1b[2mb\x1b[0m"
        );
    }

    #[test]
    fn wrap_keeps_every_line_within_the_width() {
        let text = "mail from noreply@example.edu passes DMARC through aligned DKIM and SPF, \
                    key MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxyz0123456789abcdef";
        let wrapped = wrap(text, Some(30), "  ");
        assert!(wrapped.lines().all(|l| width(l) <= 30), "{wrapped}");
        assert!(wrapped.lines().skip(1).all(|l| l.starts_with("  ")));
        assert_eq!(
            wrapped.replace("\n  ", " ").replace(' ', ""),
            text.replace(' ', "")
        );
    }

    #[test]
    fn wrap_without_width_changes_nothing() {
        assert_eq!(wrap("a b c", None, "  "), "a b c");
    }
}
