//! The catalogue of Moodle's outgoing-mail settings that maildrift reads and compares.
//!
//! The plugin returns exactly these (see `moodle/local_maildrift/classes/local/mail_settings.php`);
//! `snapshot import` keeps exactly these out of `admin/cli/cfg.php --json`.

/// How Moodle interprets a setting's value, which decides how two values are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Free text; compared after trimming surrounding white space.
    Text,
    /// An e-mail address; compared trimmed and case-insensitively.
    Email,
    /// A list Moodle splits on the given separators; compared as a set (order and
    /// duplicates do not matter), entries trimmed, empty entries dropped.
    List {
        separators: &'static [char],
        case_insensitive: bool,
    },
    /// Lines whose order matters (e.g. extra headers); compared line by line, each trimmed.
    Lines,
    /// A checkbox stored as "0"/"1"; an unset value counts as "0".
    Flag,
    /// A number; "5" and "5.0" compare equal.
    Number,
}

/// One mail setting maildrift knows.
#[derive(Debug, Clone, Copy)]
pub struct SettingSpec {
    pub name: &'static str,
    pub kind: ValueKind,
    /// Shown as a unified diff rather than inline when values differ.
    pub multiline: bool,
}

const fn spec(name: &'static str, kind: ValueKind, multiline: bool) -> SettingSpec {
    SettingSpec {
        name,
        kind,
        multiline,
    }
}

// Moodle splits smtphosts on ';' (lib/moodlelib.php, get_mailer()).
const SMTP_HOSTS: ValueKind = ValueKind::List {
    separators: &[';'],
    case_insensitive: true,
};
// allowedemaildomains is a textarea, one domain per line.
const DOMAINS: ValueKind = ValueKind::List {
    separators: &['\n', '\r'],
    case_insensitive: true,
};
// divertallemailsexcept accepts commas and new lines between its patterns.
const PATTERNS: ValueKind = ValueKind::List {
    separators: &[',', '\n', '\r'],
    case_insensitive: false,
};

/// Every outgoing-mail setting, in the order Moodle's admin pages show them.
pub const MAIL_SETTINGS: &[SettingSpec] = &[
    spec("smtphosts", SMTP_HOSTS, false),
    spec("smtpsecure", ValueKind::Text, false),
    spec("smtpauthtype", ValueKind::Text, false),
    spec("smtpoauthservice", ValueKind::Text, false),
    spec("smtpuser", ValueKind::Text, false),
    spec("smtpmaxbulk", ValueKind::Number, false),
    spec("noreplyaddress", ValueKind::Email, false),
    spec("allowedemaildomains", DOMAINS, true),
    spec("divertallemailsto", ValueKind::Email, false),
    spec("divertallemailsexcept", PATTERNS, true),
    spec("emaildkimselector", ValueKind::Text, false),
    spec("sitemailcharset", ValueKind::Text, false),
    spec("allowusermailcharset", ValueKind::Flag, false),
    spec("allowattachments", ValueKind::Flag, false),
    spec("mailnewline", ValueKind::Text, false),
    spec("emailfromvia", ValueKind::Flag, false),
    spec("emailsubjectprefix", ValueKind::Text, false),
    spec("emailheaders", ValueKind::Lines, true),
    spec("noemailever", ValueKind::Flag, false),
    spec("handlebounces", ValueKind::Flag, false),
    spec("minbounces", ValueKind::Number, false),
    spec("bounceratio", ValueKind::Number, false),
    spec("maildomain", ValueKind::Text, false),
    spec("mailprefix", ValueKind::Text, false),
    spec("supportemail", ValueKind::Email, false),
    spec("supportname", ValueKind::Text, false),
    spec("messageinbound_enabled", ValueKind::Flag, false),
    spec("messageinbound_mailbox", ValueKind::Text, false),
    spec("messageinbound_domain", ValueKind::Text, false),
    spec("messageinbound_host", ValueKind::Text, false),
    spec("messageinbound_hostssl", ValueKind::Text, false),
    spec("messageinbound_hostoauth", ValueKind::Text, false),
    spec("messageinbound_hostuser", ValueKind::Text, false),
];

/// Settings whose values are secret: only whether they are set ever leaves Moodle.
pub const SECRET_SETTINGS: &[&str] = &["smtppass", "messageinbound_hostpass"];

/// Looks a mail setting up by name.
pub fn lookup(name: &str) -> Option<&'static SettingSpec> {
    MAIL_SETTINGS.iter().find(|s| s.name == name)
}

/// True for any setting name that must never have its value shown: the known secrets and,
/// defensively, anything whose name says it holds a password or secret.
pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_SETTINGS.contains(&lower.as_str())
        || lower.contains("pass")
        || lower.contains("secret")
        || lower.contains("token")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_has_no_duplicates_and_no_secrets() {
        let mut names: Vec<_> = MAIL_SETTINGS.iter().map(|s| s.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), MAIL_SETTINGS.len());
        assert!(MAIL_SETTINGS.iter().all(|s| !is_secret_name(s.name)));
    }

    #[test]
    fn secret_names_are_recognised() {
        assert!(is_secret_name("smtppass"));
        assert!(is_secret_name("messageinbound_hostpass"));
        assert!(is_secret_name("oauth_client_secret"));
        assert!(!is_secret_name("smtpuser"));
    }
}
