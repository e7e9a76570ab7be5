//! `maildrift baseline accept`: write live values into the baseline, keeping the file's
//! comments, order and exceptions (toml_edit edits the document in place).

use std::path::Path;

use toml_edit::{DocumentMut, Item, Table, value};

use super::{Baseline, BaselineError};
use crate::snapshot::settings;

/// One value to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub setting: String,
    /// `None` writes the value for every environment (`[settings]`) and drops the overrides
    /// of `clear_overrides_in`; `Some(env)` writes `[environments.<env>.settings]`.
    pub environment: Option<String>,
    pub value: String,
    pub clear_overrides_in: Vec<String>,
}

/// Applies `changes` to the baseline `text` and returns the new text. The result is parsed
/// again before it is returned, so a change can never produce a baseline maildrift can't read.
pub fn apply(text: &str, path: &Path, changes: &[Change]) -> Result<String, BaselineError> {
    let fail = |message: String| BaselineError::Update {
        path: path.to_path_buf(),
        message,
    };
    // Refuse to edit a file that doesn't load: the diff would be misleading.
    Baseline::parse(text, path)?;
    let mut doc: DocumentMut = text.parse().map_err(|e| fail(format!("{e}")))?;
    for change in changes {
        if settings::lookup(&change.setting).is_none() {
            return Err(fail(format!(
                "`{}` is not a mail setting maildrift knows",
                change.setting
            )));
        }
        match &change.environment {
            None => {
                let table = table_at(&mut doc, &["settings"]).map_err(fail)?;
                set_value(table, &change.setting, &change.value);
                for env in &change.clear_overrides_in {
                    if let Some(t) = existing_table(&mut doc, &["environments", env, "settings"]) {
                        t.remove(&change.setting);
                    }
                }
            }
            Some(env) => {
                let table = table_at(&mut doc, &["environments", env, "settings"]).map_err(fail)?;
                set_value(table, &change.setting, &change.value);
            }
        }
    }
    let out = doc.to_string();
    Baseline::parse(&out, path)?;
    Ok(out)
}

/// Sets `key` to a string, keeping the comments and spacing around an existing key and value.
fn set_value(table: &mut dyn toml_edit::TableLike, key: &str, new: &str) {
    match table.get_mut(key) {
        Some(Item::Value(old)) => {
            let decor = old.decor().clone();
            *old = toml_edit::Value::from(new);
            *old.decor_mut() = decor;
        }
        _ => {
            table.insert(key, value(new));
        }
    }
}

fn existing_table<'a>(
    doc: &'a mut DocumentMut,
    keys: &[&str],
) -> Option<&'a mut dyn toml_edit::TableLike> {
    let mut item: &mut Item = doc.as_item_mut();
    for key in keys {
        item = item.as_table_like_mut()?.get_mut(key)?;
    }
    item.as_table_like_mut()
}

/// The table at `keys`, created (as a standard `[a.b]` table) where missing. Inline tables
/// that exist already are edited in place so the file keeps its style.
fn table_at<'a>(
    doc: &'a mut DocumentMut,
    keys: &[&str],
) -> Result<&'a mut dyn toml_edit::TableLike, String> {
    let mut item: &mut Item = doc.as_item_mut();
    for (i, key) in keys.iter().enumerate() {
        let parent = item
            .as_table_like_mut()
            .ok_or_else(|| format!("`{}` is not a table", keys[..i].join(".")))?;
        if parent.get(key).is_none() {
            let mut t = Table::new();
            // Intermediate tables stay implicit so no empty `[environments]` header appears.
            t.set_implicit(i + 1 < keys.len());
            parent.insert(key, Item::Table(t));
        }
        item = parent
            .get_mut(key)
            .ok_or_else(|| format!("cannot create `{}`", keys[..=i].join(".")))?;
    }
    item.as_table_like_mut()
        .ok_or_else(|| format!("`{}` is not a table", keys.join(".")))
}

/// A unified diff of the baseline before and after, labelled with the file name.
pub fn unified_diff(old: &str, new: &str, path: &Path) -> String {
    let name = path.display().to_string();
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{name} (current)"), &format!("{name} (accepted)"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# The mail standard of Example University.
schema = "maildrift.baseline/1"

[standard]
name = "Mail"   # reviewed yearly
owner = "Mail team"

[settings]
# The central relay.
smtphosts = "old.example.edu:587"

[environments.staging]
role = "staging"
settings = { divertallemailsto = "sink@example.edu" }

[[exceptions]]
setting = "smtpsecure"
reason = "r"
owner = "o"
expires = 2027-01-01
"#;

    fn change(setting: &str, env: Option<&str>, v: &str) -> Change {
        Change {
            setting: setting.into(),
            environment: env.map(String::from),
            value: v.into(),
            clear_overrides_in: vec![],
        }
    }

    #[test]
    fn accept_keeps_comments_order_and_exceptions() {
        let out = apply(
            TEXT,
            Path::new("b.toml"),
            &[change("smtphosts", None, "new.example.edu:587")],
        )
        .unwrap();
        assert_eq!(out, TEXT.replace("old.example.edu", "new.example.edu"));
    }

    #[test]
    fn accept_for_one_environment_edits_its_inline_table() {
        let out = apply(
            TEXT,
            Path::new("b.toml"),
            &[change(
                "divertallemailsto",
                Some("staging"),
                "s2@example.edu",
            )],
        )
        .unwrap();
        assert!(
            out.contains(r#"settings = { divertallemailsto = "s2@example.edu" }"#),
            "{out}"
        );
    }

    #[test]
    fn accept_creates_missing_environment_tables() {
        let out = apply(
            TEXT,
            Path::new("b.toml"),
            &[change("divertallemailsto", Some("production"), "")],
        )
        .unwrap();
        assert!(
            out.contains("[environments.production.settings]\ndivertallemailsto = \"\""),
            "{out}"
        );
        assert!(!out.contains("[environments]\n"), "{out}");
        Baseline::parse(&out, Path::new("b.toml")).unwrap();
    }

    #[test]
    fn accept_into_a_baseline_without_those_tables_adds_only_headers_that_hold_values() {
        let bare = "schema = \"maildrift.baseline/1\"\n\n[standard]\nname = \"Mail\"\nowner = \"Mail team\"\n";
        let out = apply(
            bare,
            Path::new("b.toml"),
            &[
                change("smtphosts", None, "relay.example.edu:587"),
                change("divertallemailsto", Some("production"), ""),
            ],
        )
        .unwrap();
        // No empty `[environments]` or `[environments.production]` above the table written.
        let headers: Vec<&str> = out.lines().filter(|l| l.starts_with('[')).collect();
        assert_eq!(
            headers,
            [
                "[standard]",
                "[settings]",
                "[environments.production.settings]"
            ],
            "{out}"
        );
        let b = Baseline::parse(&out, Path::new("b.toml")).unwrap();
        assert_eq!(
            b.expected("staging", "smtphosts"),
            Some("relay.example.edu:587")
        );
        assert_eq!(b.expected("production", "divertallemailsto"), Some(""));
    }

    #[test]
    fn global_accept_can_drop_overrides() {
        let mut c = change("divertallemailsto", None, "all@example.edu");
        c.clear_overrides_in = vec!["staging".into()];
        let out = apply(TEXT, Path::new("b.toml"), &[c]).unwrap();
        let b = Baseline::parse(&out, Path::new("b.toml")).unwrap();
        assert_eq!(
            b.expected("staging", "divertallemailsto"),
            Some("all@example.edu")
        );
    }

    #[test]
    fn accept_refuses_a_broken_baseline() {
        assert!(apply("schema = 1", Path::new("b.toml"), &[]).is_err());
    }

    #[test]
    fn diff_is_labelled_with_the_file() {
        let d = unified_diff("a = 1\n", "a = 2\n", Path::new("b.toml"));
        assert!(
            d.contains("--- b.toml (current)") && d.contains("+a = 2"),
            "{d}"
        );
    }
}
