//! DKIM key records (RFC 6376 §3.6.1, RFC 8463) and comparing them with Moodle's key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// A parsed `<selector>._domainkey.<domain>` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// `k=`, lower case; `rsa` when absent.
    pub key_type: String,
    /// Decoded `p=`; empty means revoked.
    pub public_key: Vec<u8>,
    /// `t=y`: the domain is testing DKIM.
    pub testing: bool,
}

/// The public key itself, in a form both DNS and Moodle's SPKI reduce to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMaterial {
    /// PKCS#1 RSAPublicKey DER and the modulus size.
    Rsa {
        der: Vec<u8>,
        bits: usize,
    },
    Ed25519(Vec<u8>),
}

impl KeyMaterial {
    pub fn describe(&self) -> String {
        match self {
            KeyMaterial::Rsa { bits, .. } => format!("RSA {bits}-bit"),
            KeyMaterial::Ed25519(_) => "ed25519".into(),
        }
    }
}

/// True when a TXT string looks like a DKIM key record rather than unrelated text.
pub fn looks_like_key(txt: &str) -> bool {
    let t = txt.trim_start().to_ascii_lowercase();
    t.starts_with("v=dkim1") || t.contains("p=")
}

/// Parses a key record's tag list. The error says which tag is wrong.
pub fn parse_record(txt: &str) -> Result<KeyRecord, String> {
    let mut key_type = "rsa".to_string();
    let mut p: Option<String> = None;
    let mut testing = false;
    for (i, tag) in txt.split(';').enumerate() {
        let tag = tag.trim();
        if tag.is_empty() {
            continue;
        }
        let (name, value) = tag
            .split_once('=')
            .ok_or(format!("`{tag}` is not name=value"))?;
        let name = name.trim().to_ascii_lowercase();
        let value: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        match name.as_str() {
            // RFC 6376 §3.6.1: v= is optional but, when present, first and exactly DKIM1.
            "v" if i != 0 => return Err("v= must be the first tag".into()),
            "v" if value != "DKIM1" => return Err(format!("v={value} (expected DKIM1)")),
            "k" => key_type = value.to_ascii_lowercase(),
            "p" => p = Some(value),
            "t" => testing = value.split(':').any(|f| f.eq_ignore_ascii_case("y")),
            _ => {}
        }
    }
    let p = p.ok_or("no p= tag")?;
    let public_key = STANDARD
        .decode(&p)
        .map_err(|e| format!("p= is not base64: {e}"))?;
    Ok(KeyRecord {
        key_type,
        public_key,
        testing,
    })
}

/// The key a DNS record publishes. RSA keys are SubjectPublicKeyInfo per RFC 6376, but bare
/// PKCS#1 keys are common in the wild and accepted by receivers, so both are read; ed25519
/// keys are the raw 32 bytes (RFC 8463).
pub fn key_from_record(rec: &KeyRecord) -> Result<KeyMaterial, String> {
    match rec.key_type.as_str() {
        "rsa" => match key_from_spki(&rec.public_key) {
            Ok(k @ KeyMaterial::Rsa { .. }) => Ok(k),
            Ok(_) => Err("k=rsa but p= holds another key type".into()),
            Err(_) => rsa_key(&rec.public_key),
        },
        "ed25519" if rec.public_key.len() == 32 => Ok(KeyMaterial::Ed25519(rec.public_key.clone())),
        "ed25519" => Err(format!(
            "ed25519 key is {} bytes (expected 32)",
            rec.public_key.len()
        )),
        other => Err(format!("unknown key type k={other}")),
    }
}

/// Moodle's public key: base64 DER SubjectPublicKeyInfo.
pub fn key_from_snapshot(b64: &str) -> Result<KeyMaterial, String> {
    let der = STANDARD
        .decode(b64.split_whitespace().collect::<String>())
        .map_err(|e| format!("not base64: {e}"))?;
    key_from_spki(&der)
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

pub fn key_from_spki(der: &[u8]) -> Result<KeyMaterial, String> {
    let (spki, _) = tlv(der, 0x30)?;
    let (alg, rest) = tlv(spki, 0x30)?;
    let (oid, _) = tlv(alg, 0x06)?;
    let (bits, _) = tlv(rest, 0x03)?;
    let key = bits
        .strip_prefix(&[0u8])
        .ok_or("BIT STRING with unused bits")?;
    if oid == OID_RSA {
        rsa_key(key)
    } else if oid == OID_ED25519 && key.len() == 32 {
        Ok(KeyMaterial::Ed25519(key.to_vec()))
    } else {
        Err("unsupported key algorithm".into())
    }
}

fn rsa_key(der: &[u8]) -> Result<KeyMaterial, String> {
    let (seq, _) = tlv(der, 0x30)?;
    let (n, rest) = tlv(seq, 0x02)?;
    tlv(rest, 0x02)?;
    let n: &[u8] = {
        let mut n = n;
        while let [0, tail @ ..] = n {
            n = tail;
        }
        n
    };
    let bits = match n.first() {
        Some(b) => (n.len() - 1) * 8 + (8 - b.leading_zeros() as usize),
        None => 0,
    };
    // Re-encode from the parsed outer element so trailing garbage can't make keys differ.
    let total = der.len() - tlv(der, 0x30)?.1.len();
    Ok(KeyMaterial::Rsa {
        der: der[..total].to_vec(),
        bits,
    })
}

/// One DER element of the expected tag: (contents, what follows).
fn tlv(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), String> {
    let (&t, rest) = input.split_first().ok_or("truncated DER")?;
    if t != tag {
        return Err(format!("DER tag {t:#x} where {tag:#x} was expected"));
    }
    let (&first, mut rest) = rest.split_first().ok_or("truncated DER")?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err("bad DER length".into());
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return Err("truncated DER".into());
    }
    Ok(rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse_and_v_must_come_first() {
        let r = parse_record(
            "v=DKIM1; k=ed25519; t=y:s; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        )
        .unwrap();
        assert_eq!(r.key_type, "ed25519");
        assert!(r.testing);
        assert!(matches!(key_from_record(&r), Ok(KeyMaterial::Ed25519(_))));
        assert!(parse_record("k=rsa; v=DKIM1; p=").is_err());
        assert!(parse_record("v=DKIM1; p=").unwrap().public_key.is_empty());
    }
}
