//! The one grammar for a host and port (ADR 0105), the twin of `schema/plan/authority.ts`: both
//! must pass `schema/plan/vectors/authority.json` (tests/authority_vectors.rs). A CONNECT target
//! or absolute-form URI is parsed with it once; only the parsed value is used (leaf certificate,
//! the `http` stream's authority). Lenient URL parsing is what this replaces: `#`, `/`, `?`, `\`,
//! `@`, `%`, `_`, whitespace, control and non-ASCII characters are refused, numeric hosts must be
//! dotted quads, IPv6 must be bracketed hex groups, ports are 1–65535 without leading zeros.

use std::net::Ipv6Addr;

/// The longest input: a 253-character name, its trailing dot and `:65535`.
const MAX_INPUT: usize = 260;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Name,
    Ipv4,
    Ipv6,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Name => "name",
            Kind::Ipv4 => "ipv4",
            Kind::Ipv6 => "ipv6",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// Canonical: a lowercase name without trailing dot, a dotted quad, or `[ipv6]` (RFC 5952).
    pub host: String,
    /// The port as written, if any.
    pub port: Option<u16>,
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthorityError {
    #[error("the authority is empty")]
    Empty,
    #[error("a character outside A-Z a-z 0-9 . : - [ ] (only ASCII letters, digits, dots and hyphens name a host)")]
    BadChar,
    #[error("the authority or host name is too long")]
    TooLong,
    #[error("the port must be a number 1-65535 without leading zeros")]
    BadPort,
    #[error("a host name label is empty, longer than 63 characters, or starts or ends with \"-\"")]
    BadLabel,
    #[error("a numeric host must be a dotted-quad IPv4 address (four decimal octets 0-255)")]
    BadIpv4,
    #[error("not a bracketed IPv6 address of hex groups (no zone id, no dotted or IPv4-mapped form)")]
    BadIpv6,
}

impl AuthorityError {
    /// The code shared with the TypeScript parser and the vectors.
    pub fn code(self) -> &'static str {
        match self {
            AuthorityError::Empty => "EMPTY",
            AuthorityError::BadChar => "BAD_CHAR",
            AuthorityError::TooLong => "TOO_LONG",
            AuthorityError::BadPort => "BAD_PORT",
            AuthorityError::BadLabel => "BAD_LABEL",
            AuthorityError::BadIpv4 => "BAD_IPV4",
            AuthorityError::BadIpv6 => "BAD_IPV6",
        }
    }
}

fn allowed(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'-' | b'[' | b']')
}

fn parse_port(text: &str) -> Result<u16, AuthorityError> {
    let digits = text.bytes().all(|b| b.is_ascii_digit());
    if !digits || text.is_empty() || text.len() > 5 || text.starts_with('0') {
        return Err(AuthorityError::BadPort);
    }
    match text.parse::<u32>() {
        Ok(n @ 1..=65535) => u16::try_from(n).map_err(|_| AuthorityError::BadPort),
        _ => Err(AuthorityError::BadPort),
    }
}

fn parse_ipv6(text: &str) -> Result<String, AuthorityError> {
    // std's parser takes RFC 4291 text (and a dotted IPv4 tail, which we refuse first).
    if text.contains('.') {
        return Err(AuthorityError::BadIpv6);
    }
    let addr: Ipv6Addr = text.parse().map_err(|_| AuthorityError::BadIpv6)?;
    if addr.to_ipv4_mapped().is_some() {
        return Err(AuthorityError::BadIpv6);
    }
    // std prints RFC 5952 (the longest zero run of two or more as "::", lower-case hex).
    Ok(format!("[{addr}]"))
}

fn label_ok(label: &str) -> Result<(), AuthorityError> {
    let bytes = label.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return Err(AuthorityError::BadLabel);
    };
    if bytes.len() > 63 || *first == b'-' || *last == b'-' {
        return Err(AuthorityError::BadLabel);
    }
    if bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-') {
        Ok(())
    } else {
        Err(AuthorityError::BadLabel)
    }
}

fn octet_ok(label: &str) -> bool {
    let digits = !label.is_empty() && label.len() <= 3 && label.bytes().all(|b| b.is_ascii_digit());
    digits && (label == "0" || !label.starts_with('0')) && label.parse::<u16>().is_ok_and(|n| n <= 255)
}

fn parse_name_or_ipv4(text: &str) -> Result<(String, Kind), AuthorityError> {
    if text.is_empty() {
        return Err(AuthorityError::Empty);
    }
    let lower = text.to_ascii_lowercase();
    let name = lower.strip_suffix('.').unwrap_or(&lower);
    let labels: Vec<&str> = name.split('.').collect();
    for label in &labels {
        label_ok(label)?;
    }
    if name.len() > 253 {
        return Err(AuthorityError::TooLong);
    }
    let last = labels.last().copied().unwrap_or_default();
    let hex = last.strip_prefix("0x").is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    // What a WHATWG URL parser would read as an IPv4 address must be one, written canonically.
    if last.bytes().all(|b| b.is_ascii_digit()) || hex {
        if labels.len() == 4 && labels.iter().all(|l| octet_ok(l)) {
            return Ok((name.to_owned(), Kind::Ipv4));
        }
        return Err(AuthorityError::BadIpv4);
    }
    Ok((name.to_owned(), Kind::Name))
}

pub fn parse(input: &str) -> Result<Authority, AuthorityError> {
    if input.is_empty() {
        return Err(AuthorityError::Empty);
    }
    if !input.bytes().all(allowed) {
        return Err(AuthorityError::BadChar);
    }
    if input.len() > MAX_INPUT {
        return Err(AuthorityError::TooLong);
    }
    let (host_text, port_text, bracketed) = if let Some(rest) = input.strip_prefix('[') {
        let close = rest.find(']').ok_or(AuthorityError::BadIpv6)?;
        let after = &rest[close + 1..];
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(AuthorityError::BadIpv6)?),
        };
        (&rest[..close], port, true)
    } else {
        if input.contains(['[', ']']) {
            return Err(AuthorityError::BadChar);
        }
        let mut parts = input.split(':');
        let host = parts.next().unwrap_or_default();
        let port = parts.next();
        if parts.next().is_some() {
            return Err(AuthorityError::BadIpv6);
        }
        (host, port, false)
    };
    let port = port_text.map(parse_port).transpose()?;
    if bracketed {
        return Ok(Authority { host: parse_ipv6(host_text)?, port, kind: Kind::Ipv6 });
    }
    let (host, kind) = parse_name_or_ipv4(host_text)?;
    Ok(Authority { host, port, kind })
}

impl Authority {
    /// `host` or `host:port`.
    pub fn display(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }

    /// The host without IPv6 brackets (for a certificate's subject alternative name).
    pub fn bare_host(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reported_attack_is_refused_and_plain_hosts_pass() {
        assert_eq!(parse("127.0.0.1:9999#.pkgs.example.org"), Err(AuthorityError::BadChar));
        let a = parse("X.Pkgs.Example.org.:8443").expect("valid");
        assert_eq!((a.host.as_str(), a.port, a.kind), ("x.pkgs.example.org", Some(8443), Kind::Name));
        assert_eq!(a.display(), "x.pkgs.example.org:8443");
        assert_eq!(parse("[::1]").map(|a| a.bare_host().to_owned()), Ok("::1".to_owned()));
    }
}
