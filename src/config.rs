//! The configuration file (`maildrift.toml`): which Moodle environments exist and how to reach them.
//!
//! ```toml
//! [defaults]
//! connect_timeout = 5   # seconds
//! timeout = 30          # seconds, whole request
//!
//! [environments.production]
//! url = "https://moodle.example.edu"
//! token_env = "MAILDRIFT_TOKEN_PRODUCTION"   # optional, this is the default name
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexMap;
use serde::Deserialize;
use url::Url;

use crate::location::Location;

/// Environment variable that names the config file when `--config` is not given.
pub const CONFIG_ENV: &str = "MAILDRIFT_CONFIG";
/// File name looked for in the current directory when neither is given.
pub const DEFAULT_CONFIG_FILE: &str = "maildrift.toml";

pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_RETRIES: u32 = 2;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    environments: IndexMap<String, RawEnvironment>,
    /// Where `testmail` writes evidence records (relative to the config file).
    evidence_dir: Option<PathBuf>,
    /// The baseline `check` uses when `--baseline` is not given (relative to the config file).
    baseline: Option<PathBuf>,
    #[serde(default)]
    dns: RawDns,
    /// The history store `check` records runs into (relative to the config file); off without.
    history: Option<PathBuf>,
    /// How long the history keeps runs, e.g. "400d" (`--keep` overrides).
    history_keep: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDns {
    server: Option<String>,
    #[serde(default)]
    zones: Vec<PathBuf>,
    #[serde(default)]
    offline: bool,
    timeout: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    connect_timeout: Option<f64>,
    timeout: Option<f64>,
    retries: Option<u32>,
    ca_file: Option<PathBuf>,
    jobs: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvironment {
    url: String,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
    #[serde(default = "default_true")]
    keyring: bool,
    connect_timeout: Option<f64>,
    timeout: Option<f64>,
    retries: Option<u32>,
    ca_file: Option<PathBuf>,
    #[serde(default)]
    allow_http: bool,
    snapshot: Option<PathBuf>,
}

fn default_true() -> bool {
    true
}

/// The loaded configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from, for error messages; `None` when built in code.
    pub path: Option<PathBuf>,
    /// Environments in file order.
    pub environments: Vec<Environment>,
    pub evidence_dir: Option<PathBuf>,
    pub baseline: Option<PathBuf>,
    pub dns: DnsSettings,
    /// How many sites are read at once.
    pub jobs: Option<usize>,
    /// The history store (`history = "path"`); `None`: runs are not recorded.
    pub history: Option<PathBuf>,
    /// Days the history keeps runs (`history_keep`); `None`: forever.
    pub history_keep: Option<u32>,
}

/// Where DNS answers come from, as configured (command-line options override these).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DnsSettings {
    /// `IP[:PORT]` of a resolver to ask instead of the system's.
    pub server: Option<std::net::SocketAddr>,
    /// Zone files answered first (planned DNS changes, or the offline demo).
    pub zones: Vec<PathBuf>,
    /// Answer only from `zones`.
    pub offline: bool,
    pub timeout: Option<Duration>,
}

/// One Moodle site maildrift talks to.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    pub name: String,
    /// Moodle's wwwroot (no trailing slash needed).
    pub url: Url,
    /// Environment variable holding the token.
    pub token_env: String,
    /// File holding the token (must not be readable by group or others).
    pub token_file: Option<PathBuf>,
    /// Whether the OS keyring is consulted.
    pub keyring: bool,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// Retries for transient failures (connect errors, timeouts, 502/503/504).
    pub retries: u32,
    /// Extra CA certificates (PEM) to trust for this site, for internal CAs.
    pub ca_file: Option<PathBuf>,
    /// Permit plain http to a non-loopback host (warned about on every run).
    pub allow_http: bool,
    /// Read this environment from a snapshot file instead of pulling it live.
    pub snapshot: Option<PathBuf>,
}

impl Environment {
    /// An environment with default settings, for tests and for `--url` style use.
    pub fn new(name: &str, url: Url) -> Self {
        Environment {
            name: name.to_string(),
            url,
            token_env: default_token_env(name),
            token_file: None,
            keyring: true,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            retries: DEFAULT_RETRIES,
            ca_file: None,
            allow_http: false,
            snapshot: None,
        }
    }
}

/// `MAILDRIFT_TOKEN_<NAME>` with the name upper-cased and non-alphanumerics as `_`.
pub fn default_token_env(name: &str) -> String {
    let suffix: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("MAILDRIFT_TOKEN_{suffix}")
}

/// What every `token_env` starts with.
pub const TOKEN_ENV_PREFIX: &str = "MAILDRIFT_";

/// Whether `var` may be read as a token: `MAILDRIFT_` and at least one more of `A-Z0-9_`, and
/// not [`CONFIG_ENV`]. A config file is input like any other; without this rule it could name
/// `AWS_SECRET_ACCESS_KEY` and have maildrift post that to a site of its choosing.
pub fn valid_token_env(var: &str) -> bool {
    var.strip_prefix(TOKEN_ENV_PREFIX).is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    }) && var != CONFIG_ENV
}

/// Checks an environment name: used in env var names, file names and keyring entries.
pub fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Parses `IP` or `IP:PORT` (`[v6]:PORT` for IPv6); port 53 when none is given.
pub fn parse_dns_server(s: &str) -> Result<std::net::SocketAddr, String> {
    let s = s.trim();
    if let Ok(addr) = s.parse::<std::net::SocketAddr>() {
        return Ok(addr);
    }
    s.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .map(|ip| std::net::SocketAddr::new(ip, 53))
        .map_err(|_| format!("`{s}` is not IP or IP:PORT (e.g. 127.0.0.1:5353 or [::1]:53)"))
}

/// Parses a retention such as `400d`, `8w` or `2y` (365 days) into days.
pub fn parse_keep(s: &str) -> Result<u32, String> {
    let s = s.trim();
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let days_per: u32 = match unit {
        "d" => 1,
        "w" => 7,
        "y" => 365,
        _ => {
            return Err(format!(
                "`{s}` is not a retention: give days, weeks or years, e.g. 400d, 8w or 2y"
            ));
        }
    };
    match number.parse::<u32>() {
        Ok(n) if n > 0 => n
            .checked_mul(days_per)
            .ok_or_else(|| format!("`{s}` is too long a retention")),
        _ => Err(format!(
            "`{s}` is not a retention: give a whole number above 0, e.g. 400d"
        )),
    }
}

impl Config {
    /// A configuration with no environments, for commands that work on files only.
    pub fn empty() -> Config {
        Config {
            path: None,
            environments: Vec::new(),
            evidence_dir: None,
            baseline: None,
            dns: DnsSettings::default(),
            jobs: None,
            history: None,
            history_keep: None,
        }
    }

    /// Finds the config file: `--config`, then `$MAILDRIFT_CONFIG`, then `./maildrift.toml`.
    pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
        if let Some(p) = explicit {
            return Some(p.to_path_buf());
        }
        if let Some(p) = std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()) {
            return Some(PathBuf::from(p));
        }
        let local = PathBuf::from(DEFAULT_CONFIG_FILE);
        local.exists().then_some(local)
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, Some(path))
    }

    pub fn parse(text: &str, path: Option<&Path>) -> Result<Config, ConfigError> {
        let shown = path
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("<config>"));
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: shown.clone(),
            location: Location::from_toml(text, &e),
            message: e.message().to_string(),
        })?;
        let base = path
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let seconds = |key: &str, env: &str, v: Option<f64>, default: Duration| match v {
            None => Ok(default),
            Some(s) if s.is_finite() && s > 0.0 && s <= 3600.0 => Ok(Duration::from_secs_f64(s)),
            Some(s) => Err(ConfigError::Invalid {
                path: shown.clone(),
                what: format!("{env}: {key} = {s}"),
                hint: "give a number of seconds between 0 and 3600".into(),
            }),
        };
        let defaults_ct = seconds(
            "connect_timeout",
            "[defaults]",
            raw.defaults.connect_timeout,
            DEFAULT_CONNECT_TIMEOUT,
        )?;
        let defaults_t = seconds(
            "timeout",
            "[defaults]",
            raw.defaults.timeout,
            DEFAULT_TIMEOUT,
        )?;
        let mut environments = Vec::with_capacity(raw.environments.len());
        for (name, env) in raw.environments {
            let section = format!("[environments.{name}]");
            if !valid_env_name(&name) {
                return Err(ConfigError::Invalid {
                    path: shown.clone(),
                    what: section,
                    hint: "environment names may use letters, digits, '-' and '_' (at most 64)"
                        .into(),
                });
            }
            let url = Url::parse(env.url.trim()).map_err(|e| ConfigError::Invalid {
                path: shown.clone(),
                what: format!("{section}: url = {:?}", env.url),
                hint: format!("{e}; give Moodle's wwwroot, e.g. https://moodle.example.edu"),
            })?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(ConfigError::Invalid {
                    path: shown.clone(),
                    what: format!("{section}: url = {:?}", env.url),
                    hint: "the url must be an http(s) address of Moodle's wwwroot".into(),
                });
            }
            // reqwest would turn `user:pass@` into Basic auth, and the url is printed in
            // reports, snapshots, evidence and errors: a password there leaks everywhere.
            if !url.username().is_empty() || url.password().is_some() {
                let mut shown_url = url.clone();
                let _ = shown_url.set_username("");
                let _ = shown_url.set_password(None);
                return Err(ConfigError::Invalid {
                    path: shown.clone(),
                    what: format!("{section}: url (credentials before `@` in {shown_url})"),
                    hint: format!(
                        "a site url must not carry a user name or password; write url = \"{shown_url}\" \
                         and give the web service token with `maildrift login {name}`, the {} \
                         environment variable, or token_file",
                        env.token_env
                            .clone()
                            .unwrap_or_else(|| default_token_env(&name))
                    ),
                });
            }
            if let Some(var) = &env.token_env
                && !valid_token_env(var)
            {
                return Err(ConfigError::Invalid {
                    path: shown.clone(),
                    what: format!("{section}: token_env = {var:?}"),
                    hint: format!(
                        "token_env must name a maildrift variable: {TOKEN_ENV_PREFIX} followed by \
                         capital letters, digits and '_' (not {CONFIG_ENV}), e.g. {}; a config \
                         must not be able to send another secret of this machine to a site",
                        default_token_env(&name)
                    ),
                });
            }
            environments.push(Environment {
                token_env: env.token_env.unwrap_or_else(|| default_token_env(&name)),
                token_file: env.token_file.map(resolve),
                keyring: env.keyring,
                connect_timeout: seconds(
                    "connect_timeout",
                    &section,
                    env.connect_timeout,
                    defaults_ct,
                )?,
                timeout: seconds("timeout", &section, env.timeout, defaults_t)?,
                retries: env
                    .retries
                    .or(raw.defaults.retries)
                    .unwrap_or(DEFAULT_RETRIES)
                    .min(10),
                ca_file: env
                    .ca_file
                    .or_else(|| raw.defaults.ca_file.clone())
                    .map(resolve),
                allow_http: env.allow_http,
                snapshot: env.snapshot.map(resolve),
                name,
                url,
            });
        }
        let server = match &raw.dns.server {
            None => None,
            Some(s) => Some(parse_dns_server(s).map_err(|hint| ConfigError::Invalid {
                path: shown.clone(),
                what: format!("[dns]: server = {s:?}"),
                hint,
            })?),
        };
        let dns = DnsSettings {
            server,
            zones: raw.dns.zones.into_iter().map(resolve).collect(),
            offline: raw.dns.offline,
            timeout: match raw.dns.timeout {
                None => None,
                Some(t) => Some(seconds("timeout", "[dns]", Some(t), DEFAULT_TIMEOUT)?),
            },
        };
        if raw.defaults.jobs == Some(0) {
            return Err(ConfigError::Invalid {
                path: shown.clone(),
                what: "[defaults]: jobs = 0".into(),
                hint: "give at least 1".into(),
            });
        }
        let history_keep = match raw.history_keep.as_deref() {
            None => None,
            Some(k) => Some(parse_keep(k).map_err(|hint| ConfigError::Invalid {
                path: shown.clone(),
                what: format!("history_keep = {k:?}"),
                hint,
            })?),
        };
        Ok(Config {
            path: path.map(Path::to_path_buf),
            environments,
            evidence_dir: raw.evidence_dir.map(resolve),
            baseline: raw.baseline.map(resolve),
            dns,
            jobs: raw.defaults.jobs,
            history: raw.history.map(resolve),
            history_keep,
        })
    }

    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }

    /// The environments named, in the order given; all of them when `names` is empty.
    pub fn select(&self, names: &[String]) -> Result<Vec<&Environment>, ConfigError> {
        if names.is_empty() {
            return Ok(self.environments.iter().collect());
        }
        names
            .iter()
            .map(|n| {
                self.environment(n)
                    .ok_or_else(|| ConfigError::UnknownEnvironment {
                        name: n.clone(),
                        known: self.environments.iter().map(|e| e.name.clone()).collect(),
                    })
            })
            .collect()
    }
}

/// Why a configuration could not be used. Every variant names the file and what to change.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}{}: {message}", path.display(), location.map(|l| format!(":{l}")).unwrap_or_default())]
    Syntax {
        path: PathBuf,
        location: Option<Location>,
        message: String,
    },
    #[error("{}: invalid {what}: {hint}", path.display())]
    Invalid {
        path: PathBuf,
        what: String,
        hint: String,
    },
    #[error("unknown environment `{name}`; the config defines: {}", if known.is_empty() { "none".to_string() } else { known.join(", ") })]
    UnknownEnvironment { name: String, known: Vec<String> },
    #[error(
        "no config file: pass --config FILE, set {CONFIG_ENV}, or create ./{DEFAULT_CONFIG_FILE} (see README, 'Configure environments')"
    )]
    NotFound,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_path_resolves_next_to_the_config_and_keep_is_read_in_days() {
        let cfg = Config::parse(
            "history = \"h/runs.sqlite\"\nhistory_keep = \"8w\"\n",
            Some(Path::new("/etc/md/maildrift.toml")),
        )
        .unwrap();
        assert_eq!(
            cfg.history.as_deref(),
            Some(Path::new("/etc/md/h/runs.sqlite"))
        );
        assert_eq!(cfg.history_keep, Some(56));
        let bad = Config::parse("history_keep = \"soon\"\n", Some(Path::new("m.toml")));
        assert!(bad.unwrap_err().to_string().contains("history_keep"));
        assert_eq!(parse_keep("400d"), Ok(400));
        assert!(parse_keep("0d").is_err());
        assert!(parse_keep("5").is_err());
    }

    #[test]
    fn parses_environments_in_file_order_with_defaults() {
        let cfg = Config::parse(
            r#"
            [defaults]
            timeout = 12
            [environments.staging]
            url = "https://staging.example.edu"
            [environments.production]
            url = "https://moodle.example.edu/"
            token_env = "MAILDRIFT_PROD_TOKEN"
            connect_timeout = 2.5
            "#,
            None,
        )
        .unwrap();
        let names: Vec<_> = cfg.environments.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["staging", "production"]);
        assert_eq!(cfg.environments[0].token_env, "MAILDRIFT_TOKEN_STAGING");
        assert_eq!(cfg.environments[0].timeout, Duration::from_secs(12));
        assert_eq!(cfg.environments[1].token_env, "MAILDRIFT_PROD_TOKEN");
        assert_eq!(
            cfg.environments[1].connect_timeout,
            Duration::from_millis(2500)
        );
    }

    #[test]
    fn unknown_key_is_an_error_with_line_and_column() {
        let err = Config::parse(
            "[environments.prod]\nurl = \"https://x.example\"\ntokn_env = \"X\"\n",
            None,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("<config>:3:1: "), "{text}");
        assert!(text.contains("tokn_env"), "{text}");
    }

    #[test]
    fn bad_url_names_the_environment() {
        let err = Config::parse("[environments.prod]\nurl = \"ftp://x\"\n", None).unwrap_err();
        assert!(err.to_string().contains("[environments.prod]"), "{err}");
    }

    #[test]
    fn credentials_in_a_url_are_refused_without_repeating_them() {
        for url in [
            "https://admin:s3cret@moodle.example.edu",
            "https://admin@moodle.example.edu/moodle",
            "http://:s3cret@127.0.0.1:8080",
        ] {
            let text = format!("[environments.prod]\nurl = \"{url}\"\n");
            let err = Config::parse(&text, Some(Path::new("/etc/md/maildrift.toml")))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("/etc/md/maildrift.toml: "), "{err}");
            assert!(err.contains("[environments.prod]"), "{err}");
            assert!(err.contains("maildrift login prod"), "{err}");
            assert!(err.contains("MAILDRIFT_TOKEN_PROD"), "{err}");
            assert!(!err.contains("s3cret") && !err.contains("admin"), "{err}");
        }
    }

    #[test]
    fn token_env_must_name_a_maildrift_variable() {
        for var in [
            "AWS_SECRET_ACCESS_KEY",
            "GITHUB_TOKEN",
            "MAILDRIFT_",
            "MAILDRIFT_CONFIG",
            "maildrift_token_prod",
            "MAILDRIFT_TOKEN=X",
            "",
        ] {
            let text =
                format!("[environments.prod]\nurl = \"https://x.example\"\ntoken_env = {var:?}\n");
            let err = Config::parse(&text, Some(Path::new("md.toml")))
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("md.toml: invalid [environments.prod]: token_env"),
                "{err}"
            );
            assert!(err.contains("MAILDRIFT_TOKEN_PROD"), "{err}");
        }
        for var in ["MAILDRIFT_TOKEN_PROD", "MAILDRIFT_CI_MOODLE_2"] {
            let text =
                format!("[environments.prod]\nurl = \"https://x.example\"\ntoken_env = {var:?}\n");
            assert_eq!(
                Config::parse(&text, None).unwrap().environments[0].token_env,
                var
            );
        }
    }

    #[test]
    fn dns_server_accepts_ip_with_or_without_port() {
        assert_eq!(parse_dns_server("127.0.0.1").unwrap().port(), 53);
        assert_eq!(parse_dns_server("127.0.0.1:5353").unwrap().port(), 5353);
        assert_eq!(parse_dns_server("[::1]:54").unwrap().port(), 54);
        assert!(parse_dns_server("dns.example").is_err());
    }

    #[test]
    fn paths_are_relative_to_the_config_file() {
        let cfg = Config::parse(
            "baseline = \"b.toml\"\n[dns]\nzones = [\"z.zone\"]\noffline = true\n[environments.p]\nurl = \"https://x.example\"\nsnapshot = \"s/p.json\"\n",
            Some(Path::new("/etc/md/maildrift.toml")),
        )
        .unwrap();
        assert_eq!(cfg.baseline.as_deref(), Some(Path::new("/etc/md/b.toml")));
        assert_eq!(cfg.dns.zones, [PathBuf::from("/etc/md/z.zone")]);
        assert_eq!(
            cfg.environments[0].snapshot.as_deref(),
            Some(Path::new("/etc/md/s/p.json"))
        );
    }

    #[test]
    fn default_token_env_is_upper_snake() {
        assert_eq!(default_token_env("prod-eu"), "MAILDRIFT_TOKEN_PROD_EU");
    }
}
