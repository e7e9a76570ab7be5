//! `maildrift explain [CODE]`.

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use super::args::ExplainArgs;
use super::exit;
use super::output::emit;
use crate::catalogue;

pub fn run(args: &ExplainArgs) -> crate::Result<u8> {
    let all = catalogue::all();
    match &args.code {
        Some(code) => {
            let code = code.trim().to_ascii_uppercase();
            let kind = all
                .iter()
                .find(|k| k.code == code || k.name.eq_ignore_ascii_case(&code))
                .ok_or_else(|| {
                    crate::Error::Usage(format!(
                        "no finding code `{code}`; `maildrift explain` lists them all"
                    ))
                })?;
            emit(
                &format!(
                    "{} {} ({}, {} check)\n\nWhat to do: {}\n\nMore: {}\n",
                    kind.code,
                    kind.name,
                    kind.severity,
                    kind.category,
                    kind.remedy,
                    doc_page(kind.code)
                ),
                None,
            )?;
        }
        None => {
            let mut table = Table::new();
            table
                .load_preset(UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Dynamic);
            table.set_header(vec!["code", "name", "severity", "check"]);
            for k in &all {
                table.add_row(vec![k.code, k.name, k.severity.as_str(), k.category]);
            }
            emit(&format!("{table}\n"), None)?;
        }
    }
    Ok(exit::CLEAN)
}

/// The documentation page that explains `code` (each area documents its own range).
fn doc_page(code: &str) -> String {
    if code.starts_with("MD15") || code.starts_with("MD16") {
        return "docs/findings-relay.md".to_string();
    }
    match code.as_bytes().get(2) {
        Some(b'4'..=b'7') => "docs/findings-dns.md".to_string(),
        Some(b'8' | b'9') => "docs/findings-health.md".to_string(),
        _ => format!("docs/findings.md#{}", code.to_ascii_lowercase()),
    }
}
