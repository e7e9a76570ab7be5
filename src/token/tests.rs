use std::cell::Cell;
use std::ffi::OsString;
use std::path::Path;

use url::Url;

use super::*;

const GOOD: &str = "0123456789abcdef0123456789abcdef";
const OTHER: &str = "fedcba9876543210fedcba9876543210";

fn env_with(file: Option<&Path>, keyring: bool) -> Environment {
    let mut env = Environment::new(
        "production",
        Url::parse("https://moodle.example.edu").unwrap(),
    );
    env.token_file = file.map(Path::to_path_buf);
    env.keyring = keyring;
    env
}

fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
    let pairs: Vec<(String, OsString)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), OsString::from(v)))
        .collect();
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

fn no_vars(_: &str) -> Option<OsString> {
    None
}

fn not_in_keyring(env: &Environment) -> Result<Token, TokenError> {
    Err(TokenError::NotInKeyring {
        env: env.name.clone(),
        var: env.token_env.clone(),
        service: KEYRING_SERVICE.into(),
        account: keyring_account(env)?,
    })
}

fn keyring_holds(value: &'static str) -> impl Fn(&Environment) -> Result<Token, TokenError> {
    move |_| Ok(Token::new(value))
}

fn token_file(dir: &tempfile::TempDir, content: &str, mode: u32) -> std::path::PathBuf {
    let path = dir.path().join("production.token");
    std::fs::write(&path, content).unwrap();
    set_mode(&path, mode);
    path
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) {}

#[test]
fn debug_and_display_never_show_the_token() {
    let t = Token::new(GOOD);
    assert!(!format!("{t:?} {t}").contains("0123"));
}

#[test]
fn env_var_wins_over_keyring_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = token_file(&dir, OTHER, 0o600);
    let env = env_with(Some(&path), true);
    let got = resolve_with(
        &env,
        &vars(&[("MAILDRIFT_TOKEN_PRODUCTION", GOOD)]),
        &keyring_holds(OTHER),
    )
    .unwrap();
    assert_eq!(got.token.expose(), GOOD);
    assert_eq!(got.source.to_string(), "env var MAILDRIFT_TOKEN_PRODUCTION");
}

#[test]
fn keyring_wins_over_file_when_env_var_is_unset() {
    let dir = tempfile::tempdir().unwrap();
    let path = token_file(&dir, OTHER, 0o600);
    let env = env_with(Some(&path), true);
    let got = resolve_with(&env, &no_vars, &keyring_holds(GOOD)).unwrap();
    assert_eq!(got.token.expose(), GOOD);
    assert_eq!(
        got.source.to_string(),
        "keyring (service maildrift, account production@https://moodle.example.edu:443)"
    );
}

#[test]
fn empty_env_var_counts_as_unset() {
    let env = env_with(None, true);
    let got = resolve_with(
        &env,
        &vars(&[("MAILDRIFT_TOKEN_PRODUCTION", "")]),
        &keyring_holds(GOOD),
    )
    .unwrap();
    assert!(matches!(got.source, TokenSource::Keyring { .. }));
}

#[test]
fn missing_keyring_entry_falls_through_to_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = token_file(&dir, &format!("  {GOOD}\n"), 0o600);
    let env = env_with(Some(&path), true);
    let got = resolve_with(&env, &no_vars, &not_in_keyring).unwrap();
    assert_eq!(got.token.expose(), GOOD, "trimmed");
    assert_eq!(got.source, TokenSource::File(path));
}

#[test]
fn disabled_keyring_is_never_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = token_file(&dir, GOOD, 0o600);
    let env = env_with(Some(&path), false);
    let asked = Cell::new(false);
    let got = resolve_with(&env, &no_vars, &|_| {
        asked.set(true);
        Ok(Token::new(OTHER))
    })
    .unwrap();
    assert!(!asked.get());
    assert_eq!(got.token.expose(), GOOD);
}

fn unreachable(e: &Environment) -> Result<Token, TokenError> {
    Err(TokenError::KeyringUnavailable {
        env: e.name.clone(),
        var: e.token_env.clone(),
        detail: "no secret service provider or dbus session found".into(),
    })
}

#[test]
fn machine_without_keyring_uses_the_configured_token_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = token_file(&dir, GOOD, 0o600);
    let env = env_with(Some(&path), true);
    let found = resolve_with(&env, &no_vars, &unreachable).unwrap();
    assert_eq!(found.source, TokenSource::File(path));
}

#[test]
fn machine_without_keyring_and_without_token_file_names_the_alternatives() {
    let env = env_with(None, true);
    let text = resolve_with(&env, &no_vars, &unreachable)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("set MAILDRIFT_TOKEN_PRODUCTION or token_file"),
        "{text}"
    );
    assert!(text.contains("keyring = false"), "{text}");
}

#[test]
fn no_source_at_all_is_missing_naming_env_and_var() {
    let env = env_with(None, false);
    let err = resolve_with(&env, &no_vars, &not_in_keyring).unwrap_err();
    assert!(matches!(err, TokenError::Missing { .. }));
    let text = err.to_string();
    assert!(text.starts_with("production: "), "{text}");
    assert!(text.contains("MAILDRIFT_TOKEN_PRODUCTION"), "{text}");
    assert!(text.contains("maildrift login production"), "{text}");
}

#[test]
fn custom_token_env_is_the_one_read() {
    let mut env = env_with(None, false);
    env.token_env = "PROD_TOKEN".into();
    let got = resolve_with(
        &env,
        &vars(&[("MAILDRIFT_TOKEN_PRODUCTION", OTHER), ("PROD_TOKEN", GOOD)]),
        &not_in_keyring,
    )
    .unwrap();
    assert_eq!(got.token.expose(), GOOD);
}

#[test]
fn malformed_env_var_names_the_source_but_not_the_token() {
    let env = env_with(None, false);
    let err = resolve_with(
        &env,
        &vars(&[("MAILDRIFT_TOKEN_PRODUCTION", "abc def")]),
        &not_in_keyring,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(
            "production: the token in env var MAILDRIFT_TOKEN_PRODUCTION contains white space"
        ),
        "{text}"
    );
    assert!(!text.contains("abc"), "{text}");
}

#[test]
fn token_rules_accept_any_visible_ascii_and_refuse_the_rest() {
    assert!(Token::parse("ABC-123_x.y~").is_ok(), "not only hex");
    assert_eq!(Token::parse(" \t\n").unwrap_err(), "is empty");
    assert_eq!(Token::parse("a b").unwrap_err(), "contains white space");
    assert_eq!(
        Token::parse("abc\u{7f}").unwrap_err(),
        "contains characters other than visible ASCII"
    );
    assert_eq!(
        Token::parse("tökén").unwrap_err(),
        "contains characters other than visible ASCII"
    );
    assert!(Token::parse(&"a".repeat(MAX_TOKEN_LEN)).is_ok());
    assert!(Token::parse(&"a".repeat(MAX_TOKEN_LEN + 1)).is_err());
}

#[cfg(unix)]
#[test]
fn group_or_world_accessible_file_is_refused_with_the_chmod_to_run() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [0o640, 0o604, 0o620, 0o602, 0o644] {
        let path = token_file(&dir, GOOD, mode);
        let env = env_with(Some(&path), false);
        let err = read_token_file(&env, &path).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("run `chmod 600 {}`", path.display())),
            "{text}"
        );
        assert!(text.contains(&format!("mode {mode:04o}")), "{text}");
        assert!(!text.contains(GOOD), "{text}");
    }
}

#[cfg(unix)]
#[test]
fn owner_only_file_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [0o600, 0o400] {
        let path = token_file(&dir, GOOD, mode);
        let env = env_with(Some(&path), false);
        assert_eq!(read_token_file(&env, &path).unwrap().expose(), GOOD);
    }
}

#[cfg(unix)]
#[test]
fn file_owned_by_another_user_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let me = rustix::process::getuid().as_raw();
    // As root (CI), give a private file away; as anyone else, a root-owned file will do.
    let path = if me == 0 {
        let path = token_file(&dir, GOOD, 0o600);
        std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
        path
    } else {
        std::path::PathBuf::from("/etc/passwd")
    };
    let env = env_with(Some(&path), false);
    let err = read_token_file(&env, &path).unwrap_err();
    assert!(matches!(err, TokenError::FileOwner { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(
        text.contains(&format!("not to the user running maildrift (id {me})")),
        "{text}"
    );
    assert!(text.contains("point token_file there"), "{text}");
}

#[cfg(unix)]
#[test]
fn folder_others_can_write_is_refused_unless_sticky() {
    let dir = tempfile::tempdir().unwrap();
    let path = token_file(&dir, GOOD, 0o600);
    let env = env_with(Some(&path), false);
    for mode in [0o777, 0o775, 0o757] {
        set_mode(dir.path(), mode);
        let err = read_token_file(&env, &path).unwrap_err();
        assert!(
            matches!(err, TokenError::FileFolderWritable { .. }),
            "{mode:o}: {err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains(&format!(
                "the folder {} can be written",
                dir.path().display()
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!("chmod go-w {}", dir.path().display())),
            "{text}"
        );
    }
    // Sticky (like /tmp): only the owner of a file may rename or remove it.
    set_mode(dir.path(), 0o1777);
    assert_eq!(read_token_file(&env, &path).unwrap().expose(), GOOD);
    set_mode(dir.path(), 0o700);
}

#[cfg(unix)]
#[test]
fn symlinks_are_followed_but_both_sides_must_be_in_safe_folders() {
    let private = tempfile::tempdir().unwrap();
    let open = tempfile::tempdir().unwrap();
    let target = token_file(&private, GOOD, 0o600);
    let link = open.path().join("link.token");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let env = env_with(Some(&link), false);
    // A link in a private folder to a file in a private folder: fine.
    assert_eq!(read_token_file(&env, &link).unwrap().expose(), GOOD);
    // The link's folder open to others: they could point it at their own file.
    set_mode(open.path(), 0o777);
    let err = read_token_file(&env, &link).unwrap_err();
    assert!(
        matches!(err, TokenError::FileFolderWritable { ref dir, .. } if dir == open.path()),
        "{err:?}"
    );
    // The target's folder open to others: they could replace the file.
    set_mode(open.path(), 0o700);
    set_mode(private.path(), 0o777);
    let err = read_token_file(&env, &link).unwrap_err();
    assert!(
        matches!(err, TokenError::FileFolderWritable { ref dir, .. } if dir == private.path()),
        "{err:?}"
    );
    set_mode(private.path(), 0o700);
}

#[test]
fn missing_token_file_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.token");
    let env = env_with(Some(&path), false);
    let err = resolve_with(&env, &no_vars, &not_in_keyring).unwrap_err();
    assert!(matches!(err, TokenError::FileMissing { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn directory_as_token_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_with(Some(dir.path()), false);
    let err = read_token_file(&env, dir.path()).unwrap_err();
    assert!(matches!(err, TokenError::FileNotRegular { .. }), "{err:?}");
}

#[test]
fn empty_token_file_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = token_file(&dir, "\n", 0o600);
    let env = env_with(Some(&path), false);
    let text = read_token_file(&env, &path).unwrap_err().to_string();
    assert!(
        text.contains(&format!("the token in file {} is empty", path.display())),
        "{text}"
    );
}

#[test]
fn huge_token_file_is_refused_without_reading_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = token_file(&dir, &"a".repeat(1 << 20), 0o600);
    let env = env_with(Some(&path), false);
    let text = read_token_file(&env, &path).unwrap_err().to_string();
    assert!(text.contains("longer than 256"), "{text}");
}

#[test]
fn describe_reports_every_source_without_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = token_file(&dir, GOOD, 0o644);
    let env = env_with(Some(&path), true);
    let report = describe_with(
        &env,
        &vars(&[("MAILDRIFT_TOKEN_PRODUCTION", GOOD)]),
        &not_in_keyring,
    );
    assert_eq!(report.len(), 3);
    assert!(matches!(report[0].state, SourceState::Usable));
    assert!(matches!(report[1].state, SourceState::Absent));
    if cfg!(unix) {
        assert!(matches!(
            report[2].state,
            SourceState::Unusable(TokenError::FilePermissions { .. })
        ));
    }
    let shown: Vec<String> = report.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown[0],
        "env var MAILDRIFT_TOKEN_PRODUCTION: token present and well-formed"
    );
    assert_eq!(
        shown[1],
        "keyring (service maildrift, account production@https://moodle.example.edu:443): no token there"
    );
    assert!(shown.iter().all(|s| !s.contains(GOOD)), "{shown:?}");
}

#[test]
fn describe_says_which_setting_leaves_a_source_unconfigured() {
    let env = env_with(None, false);
    let report = describe_with(&env, &no_vars, &not_in_keyring);
    let shown: Vec<String> = report.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "env var MAILDRIFT_TOKEN_PRODUCTION: no token there",
            "keyring: not configured (keyring = false)",
            "file: not configured (no token_file)",
        ]
    );
}

#[test]
fn keyring_account_is_bound_to_the_exact_origin() {
    let account = |url: &str| {
        keyring_account(&Environment::new("staging", Url::parse(url).unwrap())).unwrap()
    };
    assert_eq!(
        account("https://Moodle.Example.edu:8443/lms/"),
        "staging@https://moodle.example.edu:8443/lms"
    );
    assert_eq!(
        account("https://moodle.example.edu"),
        "staging@https://moodle.example.edu:443"
    );
    assert_eq!(
        account("https://moodle.example.edu:443/"),
        account("https://moodle.example.edu")
    );
    // Every part of the origin tells entries apart: another port, scheme or path is another
    // site, which must not receive this one's token.
    let base = account("https://moodle.example.edu/lms");
    for other in [
        "https://moodle.example.edu:8443/lms",
        "http://moodle.example.edu/lms",
        "https://moodle.example.edu/other",
        "https://moodle.example.edu",
        "https://moodle.example.org/lms",
    ] {
        assert_ne!(account(other), base, "{other}");
    }
}

#[test]
fn keyring_is_never_asked_for_a_plain_http_site() {
    let mut env = env_with(None, true);
    env.url = Url::parse("http://moodle.example.edu:8080").unwrap();
    env.allow_http = true;
    let asked = Cell::new(false);
    let keyring = |_: &Environment| {
        asked.set(true);
        Ok(Token::new(GOOD))
    };
    let err = resolve_with(&env, &no_vars, &keyring).unwrap_err();
    assert!(!asked.get(), "the keyring was asked for an http site");
    assert!(matches!(err, TokenError::Missing { .. }), "{err}");
    let shown: Vec<String> = describe_with(&env, &no_vars, &keyring)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(!asked.get());
    assert_eq!(
        shown[1],
        "keyring: not configured (keyring tokens go to https urls only)"
    );
    // Loading or storing directly is refused before any keyring call.
    let err = load(&env).unwrap_err();
    assert!(matches!(err, TokenError::KeyringNeedsHttps { .. }), "{err}");
    assert!(err.to_string().contains("only sent over https"), "{err}");
    let err = store(&env, &Token::new(GOOD)).unwrap_err();
    assert!(matches!(err, TokenError::KeyringNeedsHttps { .. }), "{err}");
    env.url = Url::parse("http://127.0.0.1:8080").unwrap();
    assert!(matches!(
        load(&env).unwrap_err(),
        TokenError::KeyringNeedsHttps { .. }
    ));
}
