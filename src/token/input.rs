//! Reading a token from the person running `maildrift login`.

use std::io::{BufRead, IsTerminal, Read};

use super::{MAX_TOKEN_LEN, Token, TokenError};

/// Reads a token from the user: without echo from the terminal when standard input is one
/// (the prompt goes to the terminal), otherwise one line from standard input (for
/// `pass show moodle | maildrift login production`), with no prompt. The token is never
/// echoed or printed.
pub fn read_token_from_user(prompt: &str) -> Result<Token, TokenError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let origin = "the terminal";
        let line = rpassword::prompt_password(prompt)
            .map_err(|source| TokenError::Input { origin, source })?;
        parse_input(&line, origin)
    } else {
        read_token_line(&mut stdin.lock(), "standard input")
    }
}

/// Reads one line (a token with or without its line ending) from `reader`.
pub(crate) fn read_token_line(
    reader: &mut dyn BufRead,
    origin: &'static str,
) -> Result<Token, TokenError> {
    let mut line = Vec::new();
    // Bounded, like token files: piping a large file in by mistake must not fill memory.
    let limit = (MAX_TOKEN_LEN + 1024) as u64;
    reader
        .take(limit + 1)
        .read_until(b'\n', &mut line)
        .map_err(|source| TokenError::Input { origin, source })?;
    if line.len() as u64 > limit {
        return Err(TokenError::BadInput {
            origin,
            reason: "is longer than 256 characters",
        });
    }
    let text = String::from_utf8(line).map_err(|_| TokenError::BadInput {
        origin,
        reason: "is not valid UTF-8",
    })?;
    parse_input(&text, origin)
}

fn parse_input(text: &str, origin: &'static str) -> Result<Token, TokenError> {
    Token::parse(text).map_err(|reason| TokenError::BadInput { origin, reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piped_token_is_one_trimmed_line() {
        let mut input: &[u8] = b"  0123456789abcdef0123456789abcdef \nsecond line\n";
        let token = read_token_line(&mut input, "standard input").unwrap();
        assert_eq!(token.expose(), "0123456789abcdef0123456789abcdef");
    }

    #[test]
    fn piped_token_without_newline_is_accepted() {
        let mut input: &[u8] = b"abc";
        assert_eq!(read_token_line(&mut input, "x").unwrap().expose(), "abc");
    }

    #[test]
    fn empty_piped_input_is_an_error_naming_stdin() {
        let mut input: &[u8] = b"";
        let err = read_token_line(&mut input, "standard input").unwrap_err();
        assert!(err.to_string().contains("standard input"), "{err}");
        assert!(err.to_string().contains("is empty"), "{err}");
    }

    #[test]
    fn oversized_piped_input_is_refused() {
        let big = vec![b'a'; 10_000];
        let err = read_token_line(&mut big.as_slice(), "standard input").unwrap_err();
        assert!(err.to_string().contains("longer than"), "{err}");
    }
}
