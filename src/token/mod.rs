//! Moodle web service tokens: where they come from and how they are kept out of every output.

use std::fmt;

/// A Moodle web service token. Its `Debug` and `Display` never show the value; the only way to
/// read it is [`Token::expose`], used when building the POST body.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(value: impl Into<String>) -> Self {
        Token(value.into())
    }

    /// The secret value. Call only where it goes on the wire or into the keyring.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Why no usable token could be found for an environment.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "{env}: no token found; set {var}, run `maildrift login {env}`, or configure token_file"
    )]
    Missing { env: String, var: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_token() {
        let t = Token::new("0123456789abcdef0123456789abcdef");
        assert!(!format!("{t:?} {t}").contains("0123"));
    }
}
