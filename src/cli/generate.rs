//! `maildrift completions SHELL` and `maildrift man [COMMAND...]`: shell completions and man
//! pages generated from the same clap definitions as `--help`, so they can't drift from it.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::output::emit;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// A subcommand (e.g. `check`, or `baseline accept`) to write the page of; the main page
    /// (maildrift(1), listing every command) without one
    #[arg(value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Writes the completion script for `args.shell` to stdout.
pub fn completions(args: &CompletionsArgs) -> crate::Result<u8> {
    let mut cmd = super::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "maildrift", &mut out);
    emit(&String::from_utf8_lossy(&out), None)?;
    Ok(super::exit::CLEAN)
}

/// Writes a man page (roff) to stdout.
pub fn man(args: &ManArgs) -> crate::Result<u8> {
    let text = render_man(&args.command)?;
    emit(&text, None)?;
    Ok(super::exit::CLEAN)
}

fn render_man(path: &[String]) -> crate::Result<String> {
    let mut cmd = super::Cli::command().disable_help_subcommand(true);
    // Building fills in the display names (`maildrift-check`) the pages are titled with.
    cmd.build();
    let mut page = cmd;
    for (depth, name) in path.iter().enumerate() {
        let next = page
            .get_subcommands()
            .find(|s| s.get_name() == name && !s.is_hide_set())
            .cloned();
        page = match next {
            Some(sub) => sub,
            None => {
                let known: Vec<&str> = page
                    .get_subcommands()
                    .filter(|s| !s.is_hide_set())
                    .map(|s| s.get_name())
                    .collect();
                return Err(crate::Error::Usage(format!(
                    "no command `{}`; {} has: {}",
                    path[..=depth].join(" "),
                    if depth == 0 {
                        "maildrift".to_string()
                    } else {
                        format!("maildrift {}", path[..depth].join(" "))
                    },
                    known.join(", ")
                )));
            }
        };
    }
    let mut out = Vec::new();
    // Subcommand pages would name the subcommand as the source ("accept 0.1.0").
    clap_mangen::Man::new(page)
        .source(format!("maildrift {}", env!("CARGO_PKG_VERSION")))
        .render(&mut out)
        .map_err(|source| crate::Error::Write {
            path: "<man page>".into(),
            source,
        })?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subcommand_pages_are_titled_with_the_full_command() {
        let page = render_man(&["baseline".into(), "accept".into()]).unwrap();
        assert!(page.contains(".TH maildrift-baseline-accept 1"), "{page}");
        assert!(
            page.contains(&format!("\"maildrift {}\"", env!("CARGO_PKG_VERSION"))),
            "{page}"
        );
    }

    #[test]
    fn an_unknown_subcommand_names_the_known_ones() {
        let err = render_man(&["chek".into()]).unwrap_err().to_string();
        assert!(err.contains("no command `chek`"), "{err}");
        assert!(err.contains("check"), "{err}");
    }
}
