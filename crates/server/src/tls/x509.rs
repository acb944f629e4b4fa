//! The `x509` auth scheme (ZooKeeper's `X509AuthenticationProvider`): a TLS client that
//! presented a trusted certificate is authenticated as `x509:<subject DN>`, the DN in the
//! form Java's `X500Principal.getName()` gives (RFC 2253: the last RDN first, `,` between
//! RDNs, `+` within one, standard keywords, other attributes as `OID=#hex`); the subject
//! named by `X509AuthenticationProvider.superUser` is also `super`.

use corral_jute::Id;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::AttributeTypeAndValue;

pub const SCHEME: &str = "x509";

/// The ids a connection whose client presented `leaf` (DER) is authenticated as.
pub fn auth_ids(leaf: &[u8], super_user: Option<&str>) -> Result<Vec<Id>, String> {
    let dn = subject_dn(leaf)?;
    let mut ids = vec![];
    if super_user == Some(dn.as_str()) {
        ids.push(Id::new("super", &dn));
    }
    ids.push(Id::new(SCHEME, &dn));
    Ok(ids)
}

pub fn subject_dn(der: &[u8]) -> Result<String, String> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| format!("the client certificate cannot be read: {e}"))?;
    let rdns: Vec<String> = cert
        .subject()
        .iter()
        .map(|rdn| rdn.iter().map(attribute).collect::<Vec<_>>().join("+"))
        .collect();
    Ok(rdns.into_iter().rev().collect::<Vec<_>>().join(","))
}

/// A certificate as a log line names it: its subject DN and serial number.
pub fn describe(der: &[u8]) -> String {
    match X509Certificate::from_der(der) {
        Ok((_, cert)) => format!(
            "{} (serial {})",
            subject_dn(der).unwrap_or_default(),
            cert.tbs_certificate.raw_serial_as_string()
        ),
        Err(e) => format!("that cannot be read: {e}"),
    }
}

fn attribute(a: &AttributeTypeAndValue) -> String {
    let oid = a.attr_type().to_id_string();
    let keyword = match oid.as_str() {
        "2.5.4.3" => Some("CN"),
        "2.5.4.6" => Some("C"),
        "2.5.4.7" => Some("L"),
        "2.5.4.8" => Some("ST"),
        "2.5.4.10" => Some("O"),
        "2.5.4.11" => Some("OU"),
        "2.5.4.9" => Some("STREET"),
        "0.9.2342.19200300.100.1.25" => Some("DC"),
        "0.9.2342.19200300.100.1.1" => Some("UID"),
        _ => None,
    };
    match (keyword, a.as_str()) {
        (Some(k), Ok(value)) => format!("{k}={}", escape(value)),
        // Java prints an attribute without a keyword, or without a string value, as the
        // hex of its DER encoding.
        (k, _) => format!("{}=#{}", k.unwrap_or(&oid), der_hex(a)),
    }
}

/// RFC 2253 section 2.4's escapes.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn der_hex(a: &AttributeTypeAndValue) -> String {
    let value = a.attr_value();
    let data = value.data;
    let mut der = vec![value.tag().0 as u8];
    if data.len() < 0x80 {
        der.push(data.len() as u8);
    } else {
        let len = (data.len() as u64).to_be_bytes();
        let skip = len.iter().take_while(|b| **b == 0).count();
        der.push(0x80 | (8 - skip) as u8);
        der.extend_from_slice(&len[skip..]);
    }
    der.extend_from_slice(data);
    der.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_rfc_2253() {
        assert_eq!(escape("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape("#x "), "\\#x\\ ");
        assert_eq!(escape("plain"), "plain");
    }
}
