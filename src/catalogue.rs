//! The catalogue of every finding code, gathered from the areas that declare them.
//!
//! It lives above the checks rather than in `findings`, which every check depends on: keeping
//! the gathering here means `findings` never reaches back up into checks, DNS or health.

use crate::findings::Kind;

/// Every finding code maildrift can raise, in code order.
pub fn all() -> Vec<&'static Kind> {
    let mut all: Vec<&'static Kind> = Vec::new();
    all.extend(crate::checks::KINDS.iter());
    all.extend(crate::dns::KINDS.iter());
    all.extend(crate::health::KINDS.iter());
    all.extend(crate::relay::KINDS.iter());
    all.extend(crate::history::KINDS.iter());
    all.sort_by_key(|k| k.code);
    all
}
