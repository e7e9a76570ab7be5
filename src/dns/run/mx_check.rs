//! MX of the sender domains: where bounces and replies go.

use super::*;

pub(super) async fn check_mx(ctx: &Ctx<'_>, t: &Targets, policy: &DnsPolicy, acc: &mut CheckAcc) {
    let mut domains: Vec<&String> = t.noreply_domain.iter().collect();
    if let Some(e) = &t.envelope_domain
        && !domains.contains(&e)
    {
        domains.push(e);
    }
    for d in domains {
        let ans = ctx.query(d, RecordType::MX).await;
        if ans.status.could_not_ask() {
            acc.unanswered(&ans, "MX");
            continue;
        }
        let mx = ans.mx();
        if mx.is_empty() {
            acc.push(
                Finding::new(&MX_MISSING, format!("{d} has no MX record ({}): bounces and replies to Moodle's mail have no home.", ans.status.as_str()))
                    .subject(d.clone()),
            );
        } else if mx.iter().all(|(_, h)| h.is_empty() || h == ".") {
            acc.push(
                Finding::new(
                    &MX_NULL,
                    format!("{d} publishes a null MX: it accepts no mail, so bounces are lost."),
                )
                .subject(d.clone())
                .actual("0 ."),
            );
        }
        for want in &policy.required_mx {
            let want = want.trim().trim_end_matches('.').to_ascii_lowercase();
            if !mx.iter().any(|(_, h)| *h == want) {
                acc.push(
                    Finding::new(
                        &MX_REQUIRED_MISSING,
                        format!("{d} does not list {want} among its MX hosts."),
                    )
                    .subject(d.clone())
                    .expected(want.clone())
                    .actual(
                        mx.iter()
                            .map(|(p, h)| format!("{p} {h}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                );
            }
        }
    }
}
