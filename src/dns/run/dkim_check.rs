//! DKIM: the selector's published key in every From domain, compared with Moodle's key.

use super::*;

pub(super) async fn check_dkim(
    ctx: &Ctx<'_>,
    snapshot: &Snapshot,
    t: &Targets,
    policy: &DnsPolicy,
    acc: &mut CheckAcc,
) -> BTreeMap<String, DkimOutcome> {
    let mut out = BTreeMap::new();
    if t.selector.is_empty() {
        acc.push(
            Finding::new(&DKIM_UNSIGNED, "emaildkimselector is empty: Moodle's mail is not DKIM-signed, so DMARC rests on SPF alone.")
                .subject("emaildkimselector"),
        );
        for d in &t.from_domains {
            out.insert(
                d.clone(),
                DkimOutcome::NotPass("no DKIM selector configured".into()),
            );
        }
        return out;
    }
    let sel = &t.selector;
    for d in &t.from_domains {
        let name = format!("{sel}._domainkey.{d}");
        let outcome = dkim_domain(ctx, snapshot, sel, d, &name, policy, acc).await;
        out.insert(d.clone(), outcome);
    }
    out
}

pub(super) fn short_key(b64: &str) -> String {
    let s: Vec<char> = b64.chars().filter(|c| !c.is_whitespace()).collect();
    if s.len() <= 24 {
        s.into_iter().collect()
    } else {
        let head: String = s[..12].iter().collect();
        let tail: String = s[s.len() - 12..].iter().collect();
        format!("{head}…{tail}")
    }
}

pub(super) async fn dkim_domain(
    ctx: &Ctx<'_>,
    snapshot: &Snapshot,
    sel: &str,
    d: &str,
    name: &str,
    policy: &DnsPolicy,
    acc: &mut CheckAcc,
) -> DkimOutcome {
    use base64::Engine;
    let ans = ctx.query(name, RecordType::TXT).await;
    if ans.status.could_not_ask() {
        acc.unanswered(&ans, "DKIM");
        return DkimOutcome::Unknown(format!("DKIM key {name} could not be asked"));
    }
    let records: Vec<String> = ans
        .txt()
        .into_iter()
        .filter(|t| super::dkim::looks_like_key(t))
        .collect();
    let rec_txt = match records.as_slice() {
        [] => {
            acc.push(
                Finding::new(
                    &DKIM_MISSING,
                    format!(
                        "Selector {sel} is configured but {name} has no DKIM key record ({}).",
                        ans.status.as_str()
                    ),
                )
                .subject(name.to_string()),
            );
            return DkimOutcome::NotPass(format!("no key at {name}"));
        }
        [one] => one.clone(),
        many => {
            acc.push(
                Finding::new(
                    &DKIM_MULTIPLE,
                    format!(
                        "{name} has {} key records; receivers may pick either.",
                        many.len()
                    ),
                )
                .subject(name.to_string())
                .actual(many.join(" | ")),
            );
            return DkimOutcome::NotPass(format!("several keys at {name}"));
        }
    };
    let rec = match super::dkim::parse_record(&rec_txt) {
        Ok(r) => r,
        Err(e) => {
            acc.push(
                Finding::new(
                    &DKIM_INVALID,
                    format!("DKIM record {name} is invalid: {e}."),
                )
                .subject(name.to_string())
                .actual(rec_txt),
            );
            return DkimOutcome::NotPass(format!("invalid key record at {name}"));
        }
    };
    if rec.public_key.is_empty() {
        acc.push(
            Finding::new(
                &DKIM_REVOKED,
                format!("DKIM key {name} is revoked (empty p=); signatures with it fail."),
            )
            .subject(name.to_string()),
        );
        return DkimOutcome::NotPass(format!("key at {name} is revoked"));
    }
    let published = match super::dkim::key_from_record(&rec) {
        Ok(k) => k,
        Err(e) => {
            acc.push(
                Finding::new(
                    &DKIM_INVALID,
                    format!("DKIM record {name} holds no usable key: {e}."),
                )
                .subject(name.to_string())
                .actual(rec_txt),
            );
            return DkimOutcome::NotPass(format!("unusable key at {name}"));
        }
    };
    if rec.testing {
        acc.push(
            Finding::new(
                &DKIM_TESTING,
                format!("DKIM key {name} is in testing mode (t=y)."),
            )
            .subject(name.to_string())
            .actual("t=y"),
        );
    }
    if let super::dkim::KeyMaterial::Rsa { bits, .. } = &published
        && (*bits as u64) < u64::from(policy.min_dkim_bits())
    {
        acc.push(
            Finding::new(
                &DKIM_WEAK,
                format!(
                    "DKIM key {name} is RSA {bits}-bit, below {} bits.",
                    policy.min_dkim_bits()
                ),
            )
            .subject(name.to_string())
            .expected(format!(">= {}", policy.min_dkim_bits()))
            .actual(bits.to_string()),
        );
    }
    let moodle = snapshot
        .dkim
        .iter()
        .find(|k| k.domain.eq_ignore_ascii_case(d) && k.selector == sel)
        .or_else(|| {
            snapshot
                .dkim
                .iter()
                .find(|k| k.domain.eq_ignore_ascii_case(d))
        });
    let Some(moodle) = moodle.filter(|k| k.keyfile) else {
        acc.push(
            Finding::new(&DKIM_NO_KEYFILE, format!("Moodle has no private key for {d} (dkim/{d}/{sel}.private), so it does not sign mail from {d}."))
                .subject(name.to_string()),
        );
        return DkimOutcome::NotPass(format!("Moodle has no key file for {d}"));
    };
    let published_b64 = base64::engine::general_purpose::STANDARD.encode(&rec.public_key);
    match super::dkim::key_from_snapshot(&moodle.publickey) {
        Ok(mine) if mine == published => {
            acc.push(
                Finding::new(
                    &DKIM_OK,
                    format!(
                        "DKIM key {name} ({}) matches Moodle's key for {d}.",
                        published.describe()
                    ),
                )
                .subject(name.to_string())
                .actual(published.describe()),
            );
            DkimOutcome::Pass
        }
        Ok(mine) => {
            acc.push(
                Finding::new(&DKIM_MISMATCH, format!("DKIM key {name} ({}) is not the public half of Moodle's key ({}); signatures will fail.", published.describe(), mine.describe()))
                    .subject(name.to_string())
                    .expected(short_key(&moodle.publickey))
                    .actual(short_key(&published_b64)),
            );
            DkimOutcome::NotPass(format!("published key at {name} differs from Moodle's"))
        }
        Err(e) => {
            acc.push(
                Finding::new(&DKIM_MISMATCH, format!("Moodle's public key for {d} can't be read ({e}), so it can't be matched with {name}."))
                    .subject(name.to_string())
                    .actual(short_key(&published_b64)),
            );
            DkimOutcome::NotPass(format!("Moodle's key for {d} is unreadable"))
        }
    }
}
