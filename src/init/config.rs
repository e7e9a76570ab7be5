//! The `maildrift.toml` that `init` writes: the environments and where DNS comes from, and
//! where tokens come from as comments only (a token is never written into a file).

use std::path::PathBuf;

use super::toml_string;
use crate::config::default_token_env;

/// What the configuration says.
#[derive(Debug, Clone, Default)]
pub struct ConfigPlan {
    /// The baseline, relative to the config file's folder.
    pub baseline: PathBuf,
    pub environments: Vec<EnvironmentPlan>,
    pub dns_server: Option<String>,
    pub zones: Vec<PathBuf>,
    pub offline: bool,
}

#[derive(Debug, Clone)]
pub struct EnvironmentPlan {
    pub name: String,
    pub url: String,
    /// A snapshot file to read instead of the live site (relative to the config's folder or
    /// absolute).
    pub snapshot: Option<PathBuf>,
}

/// The configuration file's text; `today` dates the header.
pub fn config_text(plan: &ConfigPlan, today: jiff::civil::Date) -> String {
    let path = |p: &PathBuf| toml_string(&p.to_string_lossy());
    let mut t = String::new();
    t.push_str(&format!(
        "# maildrift configuration, written by `maildrift init` on {today}.\n\
         # Paths are relative to this file. Every key is described in maildrift's README\n\
         # (\"Configure environments\").\n\
         #\n\
         # Tokens are never written here. Each live environment's token comes from, in order:\n\
         #   1. the environment variable MAILDRIFT_TOKEN_<ENV> (or `token_env`): CI and cron;\n\
         #   2. the OS keyring: `maildrift login ENV` stores a checked token there;\n\
         #   3. `token_file`: a file holding only the token, `chmod 600`.\n\
         # `maildrift doctor` shows which one each environment uses, without showing the token.\n\n"
    ));
    t.push_str(&format!(
        "baseline = {}   # the standard `check` uses\n",
        path(&plan.baseline)
    ));
    for env in &plan.environments {
        t.push_str(&format!("\n[environments.{}]\n", env.name));
        t.push_str(&format!("url = {}\n", toml_string(&env.url)));
        match &env.snapshot {
            Some(s) => t.push_str(&format!(
                "snapshot = {}   # read from this file; remove the line to read the site live\n",
                path(s)
            )),
            None => {
                t.push_str(&format!(
                    "# token_env = {}   # the default name\n",
                    toml_string(&default_token_env(&env.name))
                ));
                t.push_str(&format!(
                    "# token_file = \"/etc/maildrift/{}.token\"\n",
                    env.name
                ));
            }
        }
    }
    t.push_str("\n[dns]\n");
    match &plan.dns_server {
        Some(s) => t.push_str(&format!("server = {}\n", toml_string(s))),
        None => {
            t.push_str("# server = \"192.0.2.53\"   # ask this resolver instead of the system's\n")
        }
    }
    if plan.zones.is_empty() {
        t.push_str("# zones = [\"planned.zone\"]   # answer from zone files first\n");
    } else {
        let zones: Vec<String> = plan.zones.iter().map(path).collect();
        t.push_str(&format!(
            "zones = [{}]   # answered from these zone files first\n",
            zones.join(", ")
        ));
    }
    if plan.offline {
        t.push_str("offline = true   # only the zone files: no DNS server is asked\n");
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn written_config_parses_with_the_strict_parser() {
        let plan = ConfigPlan {
            baseline: "baselines/mail-standard.toml".into(),
            environments: vec![
                EnvironmentPlan {
                    name: "production".into(),
                    url: "https://moodle.example.edu".into(),
                    snapshot: None,
                },
                EnvironmentPlan {
                    name: "staging".into(),
                    url: "https://moodle-staging.example.edu".into(),
                    snapshot: Some("snaps/staging \"x\".json".into()),
                },
            ],
            dns_server: Some("127.0.0.1:5353".into()),
            zones: vec!["z.zone".into()],
            offline: true,
        };
        let text = config_text(&plan, jiff::civil::date(2026, 12, 1));
        let cfg = Config::parse(&text, Some(std::path::Path::new("/w/maildrift.toml")))
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(cfg.environments.len(), 2);
        assert_eq!(cfg.environments[0].token_env, "MAILDRIFT_TOKEN_PRODUCTION");
        assert_eq!(cfg.environments[0].snapshot, None);
        assert_eq!(
            cfg.environments[1].snapshot.as_deref(),
            Some(std::path::Path::new("/w/snaps/staging \"x\".json"))
        );
        assert_eq!(
            cfg.baseline.as_deref(),
            Some(std::path::Path::new("/w/baselines/mail-standard.toml"))
        );
        assert!(cfg.dns.offline);
        assert_eq!(cfg.dns.server.unwrap().port(), 5353);
    }
}
