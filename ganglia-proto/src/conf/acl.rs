//! gmond's access control lists (`acl { default = ...; access { ip; mask; action } }`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What an ACL entry (or the default) does with a matching address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AclAction {
    /// Accept the packet / connection.
    #[default]
    Allow,
    /// Drop it.
    Deny,
}

impl AclAction {
    /// Parse `allow` / `deny` (case-insensitive).
    pub fn parse(s: &str) -> Option<AclAction> {
        if s.eq_ignore_ascii_case("allow") {
            Some(AclAction::Allow)
        } else if s.eq_ignore_ascii_case("deny") {
            Some(AclAction::Deny)
        } else {
            None
        }
    }
}

/// One `access { ip = ...; mask = ...; action = ... }` entry: a network and what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccessRule {
    /// The network address (IPv4-mapped IPv6 addresses are stored as IPv4).
    pub ip: IpAddr,
    /// Prefix length: 0..=32 for IPv4, 0..=128 for IPv6. Defaults to the full length.
    pub mask: u8,
    /// What to do on a match.
    pub action: AclAction,
}

impl AccessRule {
    /// A rule; `mask` is clamped to the address family's length, and IPv4-mapped IPv6
    /// addresses become IPv4 (with the prefix adjusted).
    pub fn new(ip: IpAddr, mask: u8, action: AclAction) -> AccessRule {
        let (ip, mask) = match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => (IpAddr::V4(v4), mask.saturating_sub(96)),
                None => (ip, mask.min(128)),
            },
            IpAddr::V4(_) => (ip, mask.min(32)),
        };
        AccessRule { ip, mask, action }
    }

    /// Whether `addr` is inside this rule's network (same family only; IPv4-mapped IPv6
    /// addresses count as IPv4).
    pub fn matches(&self, addr: IpAddr) -> bool {
        match (self.ip, canonical(addr)) {
            (IpAddr::V4(net), IpAddr::V4(a)) => prefix_eq(&net.octets(), &a.octets(), self.mask),
            (IpAddr::V6(net), IpAddr::V6(a)) => prefix_eq(&net.octets(), &a.octets(), self.mask),
            _ => false,
        }
    }
}

/// An access control list. [`Acl::allows`]: the first matching entry decides; no match gives
/// `default`. As in Ganglia, an ACL without any `access` entry allows everything (whatever its
/// default says).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Acl {
    /// `default = "allow" | "deny"` (default allow).
    pub default: AclAction,
    /// The `access` entries, in file order.
    pub access: Vec<AccessRule>,
}

impl Acl {
    /// Whether `addr` may talk to the channel.
    pub fn allows(&self, addr: IpAddr) -> bool {
        if self.access.is_empty() {
            return true;
        }
        let action = self
            .access
            .iter()
            .find(|r| r.matches(addr))
            .map_or(self.default, |r| r.action);
        action == AclAction::Allow
    }
}

fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let bits = usize::from(bits);
    let full = bits / 8;
    let rest = bits % 8;
    if a.get(..full) != b.get(..full) {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let m = 0xffu8 << (8 - rest);
    match (a.get(full), b.get(full)) {
        (Some(x), Some(y)) => x & m == y & m,
        _ => true,
    }
}

/// Parse an ACL address: IPv4, IPv6, optionally in brackets.
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    let s = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(s);
    s.parse::<Ipv4Addr>()
        .map(IpAddr::V4)
        .ok()
        .or_else(|| s.parse::<Ipv6Addr>().map(IpAddr::V6).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn rule(net: &str, mask: u8, action: AclAction) -> AccessRule {
        AccessRule::new(ip(net), mask, action)
    }

    #[test]
    fn table() {
        let acl = Acl {
            default: AclAction::Deny,
            access: vec![
                rule("10.1.2.3", 32, AclAction::Deny),
                rule("10.0.0.0", 8, AclAction::Allow),
                rule("192.168.1.128", 25, AclAction::Allow),
                rule("2001:db8::", 32, AclAction::Allow),
                rule("::1", 128, AclAction::Allow),
            ],
        };
        let cases = [
            ("10.1.2.3", false), // first match wins: the /32 deny
            ("10.1.2.4", true),
            ("10.255.255.255", true),
            ("11.0.0.1", false), // default
            ("192.168.1.127", false),
            ("192.168.1.128", true),
            ("192.168.1.255", true),
            ("2001:db8:1::5", true),
            ("2001:db9::1", false),
            ("::1", true),
            ("::2", false),
            ("::ffff:10.9.9.9", true), // IPv4-mapped matches the IPv4 rule
            ("::ffff:10.1.2.3", false),
        ];
        for (a, want) in cases {
            assert_eq!(acl.allows(ip(a)), want, "{a}");
        }
    }

    #[test]
    fn defaults_and_edges() {
        assert!(Acl::default().allows(ip("1.2.3.4")));
        // No access entries: allowed whatever the default (Ganglia behaviour).
        let deny_all = Acl {
            default: AclAction::Deny,
            access: vec![],
        };
        assert!(deny_all.allows(ip("1.2.3.4")));
        let zero = Acl {
            default: AclAction::Deny,
            access: vec![rule("0.0.0.0", 0, AclAction::Allow)],
        };
        assert!(zero.allows(ip("203.0.113.9")));
        assert!(
            !zero.allows(ip("2001:db8::1")),
            "an IPv4 rule never matches IPv6"
        );
        let mapped = rule("::ffff:10.0.0.0", 104, AclAction::Allow);
        assert_eq!(mapped.ip, ip("10.0.0.0"));
        assert_eq!(mapped.mask, 8);
        assert!(mapped.matches(ip("10.2.3.4")));
        assert_eq!(rule("1.2.3.4", 200, AclAction::Allow).mask, 32);
        assert_eq!(AclAction::parse("DENY"), Some(AclAction::Deny));
        assert_eq!(AclAction::parse("maybe"), None);
        assert_eq!(parse_ip("[::1]"), Some(ip("::1")));
        assert_eq!(parse_ip("host"), None);
    }
}
