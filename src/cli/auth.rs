//! `maildrift login`, `logout` and `doctor`: tokens and whether sites answer.

use super::args::{DoctorArgs, Global, LoginArgs, LogoutArgs};
use super::exit;
use super::output::{self, emit};
use crate::config::Environment;
use crate::moodle::Client;
use crate::token::{self, SourceState};

fn environment(g: &Global, name: &str) -> crate::Result<Environment> {
    let config = output::load_config(g)?;
    Ok(config.select(&[name.to_string()])?.remove(0).clone())
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> crate::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| crate::Error::Usage(format!("internal error: {e}")))
}

pub async fn login(g: &Global, args: &LoginArgs) -> crate::Result<u8> {
    let env = environment(g, &args.environment)?;
    // Refuse an http site before the token is typed and sent anywhere.
    token::require_https(&env)?;
    let client = Client::new(&env)?;
    let prompt = format!("Web service token for {} ({}): ", env.name, env.url);
    let token = blocking(move || token::read_token_from_user(&prompt)).await??;
    // Store only a token that works: a typo must not replace a good stored token.
    let info = client.check_access(&token).await?;
    let env2 = env.clone();
    let token2 = token.clone();
    blocking(move || token::store(&env2, &token2)).await??;
    emit(
        &format!(
            "Stored the token for {} in the OS keyring (service {}, account {}).\nIt belongs to {} on {} (Moodle {}) and can call local_maildrift.\n",
            env.name,
            token::KEYRING_SERVICE,
            token::keyring_account(&env)?,
            info.username,
            info.sitename,
            info.release
        ),
        None,
    )?;
    Ok(exit::CLEAN)
}

pub fn logout(g: &Global, args: &LogoutArgs) -> crate::Result<u8> {
    let env = environment(g, &args.environment)?;
    token::delete(&env)?;
    emit(
        &format!("Removed the token for {} from the OS keyring.\n", env.name),
        None,
    )?;
    Ok(exit::CLEAN)
}

pub async fn doctor(g: &Global, args: &DoctorArgs) -> crate::Result<u8> {
    let config = output::load_config(g)?;
    let envs: Vec<Environment> = config
        .select(&args.environments)?
        .into_iter()
        .cloned()
        .collect();
    let mut failed = false;
    let mut text = String::new();
    if let Some(p) = &config.path {
        text.push_str(&format!("config: {}\n", p.display()));
    }
    for env in envs {
        text.push_str(&format!("\n{} ({})\n", env.name, env.url));
        if let Some(snap) = &env.snapshot {
            text.push_str(&format!(
                "  reads snapshot file {} (no token needed)\n",
                snap.display()
            ));
            continue;
        }
        let env2 = env.clone();
        for status in blocking(move || token::describe(&env2)).await? {
            text.push_str(&format!("  token source: {status}\n"));
        }
        let env2 = env.clone();
        let resolved = match blocking(move || token::resolve(&env2)).await? {
            Ok(r) => r,
            Err(e) => {
                failed = true;
                text.push_str(&format!("  PROBLEM: {e}\n"));
                continue;
            }
        };
        text.push_str(&format!("  using: {}\n", resolved.source));
        if args.offline {
            continue;
        }
        let result = async {
            let client = Client::new(&env)?;
            let info = client.check_access(&resolved.token).await?;
            let cfg = client.mail_config(&resolved.token).await?;
            Ok::<_, crate::Error>((client.warnings().to_vec(), info, cfg))
        }
        .await;
        match result {
            Ok((warnings, info, cfg)) => {
                for w in warnings {
                    text.push_str(&format!("  warning: {w}\n"));
                }
                text.push_str(&format!(
                    "  site: {} answers; Moodle {} ({}); local_maildrift {}; token user {}\n",
                    info.sitename, info.release, info.version, cfg.pluginversion, info.username
                ));
            }
            Err(e) => {
                failed = true;
                text.push_str(&format!("  PROBLEM: {e}\n"));
            }
        }
    }
    emit(&text, None)?;
    Ok(if failed { exit::ERROR } else { exit::CLEAN })
}

#[allow(dead_code)]
fn usable(state: &SourceState) -> bool {
    matches!(state, SourceState::Usable)
}
