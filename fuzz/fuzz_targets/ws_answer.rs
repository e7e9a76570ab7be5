//! Web service answers: any status, content type and body must give a value or a
//! `MoodleError`, never a panic, and never an error that repeats the token.
#![no_main]

use libfuzzer_sys::fuzz_target;
use maildrift::config::Environment;
use maildrift::moodle::{Client, MailConfig, MailHealth, SiteInfo, TestMail};
use maildrift::token::Token;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let Ok(url) = url::Url::parse("http://127.0.0.1/") else { return };
    let Ok(client) = Client::new(&Environment::new("fuzz", url)) else { return };
    let token = Token::new(TOKEN);
    let status = [200u16, 200, 200, 403, 404, 503, 500, 302][usize::from(selector & 7)];
    let ct = [Some("application/json"), Some("text/html; charset=utf-8"), None, Some("text/plain")]
        [usize::from((selector >> 3) & 3)];
    let check = |e: maildrift::moodle::MoodleError| {
        assert!(!e.to_string().contains(TOKEN), "token in error: {e}");
    };
    match selector >> 5 {
        0 => { let _ = client.decode_answer::<MailConfig>("local_maildrift_get_mail_config", status, ct, body, &token).map_err(check); }
        1 => { let _ = client.decode_answer::<MailHealth>("local_maildrift_get_mail_health", status, ct, body, &token).map_err(check); }
        2 => { let _ = client.decode_answer::<TestMail>("local_maildrift_send_test_mail", status, ct, body, &token).map_err(check); }
        _ => { let _ = client.decode_answer::<SiteInfo>("core_webservice_get_site_info", status, ct, body, &token).map_err(check); }
    }
});
