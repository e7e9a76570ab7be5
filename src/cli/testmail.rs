//! `maildrift testmail`: sends one test message through a site and keeps the evidence.

use std::path::PathBuf;

use super::args::Global;
use super::exit;
use super::output;
use crate::evidence::{self, Record, SendResult};
use crate::moodle::MoodleError;

#[derive(Debug, clap::Args)]
pub struct TestmailArgs {
    /// The environment to send from (must be a live site)
    #[arg(value_name = "ENV")]
    pub environment: String,
    /// Address to send the test message to (a mailbox you can check)
    #[arg(long, value_name = "ADDRESS")]
    pub to: String,
    /// Folder to write the evidence record to [default: `evidence_dir` in the config, else ./evidence]
    #[arg(long, value_name = "DIR")]
    pub evidence_dir: Option<PathBuf>,
}

/// Checks that `address` is one plain mailbox address (`local@domain.tld`): no display name,
/// no spaces or control characters, a domain of valid DNS labels with at least one dot.
pub fn check_address(address: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("--to {address:?} is not a usable address: {why}"));
    if address.len() > 254 {
        return bad("longer than 254 characters");
    }
    if address.chars().any(|c| {
        c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '(' | ')' | ',' | ';' | '"')
    }) {
        return bad("give the bare address, e.g. postmaster@example.edu");
    }
    let Some((local, domain)) = address.rsplit_once('@') else {
        return bad("no @");
    };
    if local.is_empty() || local.len() > 64 || local.contains('@') {
        return bad("the part before @ must be 1 to 64 characters without another @");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return bad("misplaced dot before @");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2
        || labels.iter().any(|l| {
            l.is_empty()
                || l.len() > 63
                || l.starts_with('-')
                || l.ends_with('-')
                || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
    {
        return bad(
            "the domain must be a DNS name like example.edu (IDN domains in their xn-- form)",
        );
    }
    Ok(())
}

pub async fn run(g: &Global, a: &TestmailArgs) -> crate::Result<u8> {
    check_address(&a.to).map_err(crate::Error::Usage)?;
    let config = output::load_config(g)?;
    let env = config
        .select(std::slice::from_ref(&a.environment))?
        .into_iter()
        .next()
        .cloned()
        .ok_or_else(|| crate::Error::Usage(format!("unknown environment {}", a.environment)))?;
    if let Some(p) = &env.snapshot {
        return Err(crate::Error::Usage(format!(
            "{} is read from the snapshot file {}: a test mail needs the live site",
            env.name,
            p.display()
        )));
    }
    let dir = evidence::resolve_dir(a.evidence_dir.as_deref(), &config);
    let (client, token) = crate::collect::connect(&env).await?;
    let answer = match client.send_test_mail(&token, &a.to).await {
        Ok(t) => t,
        Err(
            e @ (MoodleError::TestMailTooSoon { .. }
            | MoodleError::TestMailAllowlistEmpty { .. }
            | MoodleError::RecipientNotAllowed { .. }),
        ) => {
            eprintln!("maildrift: error: {e}");
            eprintln!("maildrift: no test mail was sent and no evidence was written");
            return Ok(exit::ERROR);
        }
        // No answer from the plugin: nothing is known about the message, so nothing is recorded.
        Err(e) => return Err(e.into()),
    };
    let now = output::now()?;
    let warnings: Vec<String> = answer
        .warnings
        .iter()
        .map(|w| match &w.warningcode {
            Some(c) if !c.is_empty() => format!("{c}: {}", w.message),
            _ => w.message.clone(),
        })
        .collect();
    let record = Record {
        schema: evidence::SCHEMA.into(),
        environment: env.name.clone(),
        url: env.url.to_string(),
        recipient: a.to.clone(),
        token: answer.token.clone(),
        subject: answer.subject.clone(),
        sent_at: jiff::Timestamp::from_second(answer.timesent)
            .ok()
            .filter(|_| answer.timesent > 0)
            .unwrap_or(now),
        recorded_at: now,
        result: if answer.sent {
            SendResult::Sent
        } else {
            SendResult::Failed
        },
        error: (!answer.sent).then(|| answer.error.trim().to_string()),
        warnings: warnings.clone(),
        tool: format!("maildrift {}", env!("CARGO_PKG_VERSION")),
    };
    let path = evidence::write(&dir, &record)?;
    for w in &warnings {
        eprintln!("maildrift: warning: {}: {w}", env.name);
    }
    if answer.sent {
        println!("{}: test mail sent to {}", env.name, a.to);
    } else {
        println!("{}: test mail FAILED: {}", env.name, answer.error.trim());
    }
    println!("subject:  {}", answer.subject);
    println!(
        "token:    {}  (search the relay's log or the mailbox for it)",
        answer.token
    );
    println!("evidence: {}", path.display());
    Ok(if answer.sent {
        exit::CLEAN
    } else {
        exit::ERROR
    })
}

#[cfg(test)]
mod tests {
    use super::check_address;

    #[test]
    fn plain_addresses_pass_and_others_are_refused() {
        for ok in [
            "postmaster@example.edu",
            "a.b+tag@mail.example.co.uk",
            "x@xn--bcher-kva.example",
        ] {
            assert!(check_address(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "postmaster",
            "@example.edu",
            "a@localhost",
            "A <a@example.edu>",
            "a b@example.edu",
            "a@example..edu",
            "a@-x.edu",
            ".a@example.edu",
            "a@exa_mple.edu",
            "a@b@example.edu",
        ] {
            assert!(check_address(bad).is_err(), "{bad}");
        }
    }
}
