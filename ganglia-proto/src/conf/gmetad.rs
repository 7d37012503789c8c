//! gmetad.conf: the typed options of Ganglia 3.7's `gmetad/conf.c.in` and their parser.
//!
//! Decisions where gmetad-rs deliberately differs from the C code (all documented on the
//! fields):
//! - `all_trusted` means what it says: `on`/`yes`/`true`/non-zero enable it, `off`/`no`/
//!   `false`/`0` disable it (Ganglia enabled it whatever the argument).
//! - No 16-argument limit per directive (Ganglia issue #176).
//! - `trusted_hosts` also accepts CIDR networks (`10.0.0.0/8`, `2001:db8::/32`) and IPv6.
//! - `xml_bind` / `interactive_bind` (gmetad-rs extensions) choose the listen addresses.
//! - Scalar options given more than one argument are errors (Ganglia silently used the
//!   first, so `gridname My Grid` became "My").

use super::acl::{AccessRule, AclAction, parse_ip};
use super::dotconf::{Arg, Directive, Reader};
use super::values::{self, bad, invalid};
use super::{ConfError, ConfErrorKind, FileSource, StdFs};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Default step of a data source, seconds.
pub const DEFAULT_STEP: u32 = 15;
/// Default gmond port of a data source address.
pub const DEFAULT_DATA_SOURCE_PORT: u16 = 8649;
/// Most RRAs a `RRAs` directive may list.
pub const MAX_RRAS: usize = 32;
/// The default RRAs (`conf.c.in` set_defaults).
pub const DEFAULT_RRAS: [&str; 3] = [
    "RRA:AVERAGE:0.5:1:5856",
    "RRA:AVERAGE:0.5:4:20160",
    "RRA:AVERAGE:0.5:40:52704",
];

/// The whole gmetad.conf. [`Default`] is Ganglia's built-in defaults (with no data source;
/// see [`GmetadConfig::validate`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GmetadConfig {
    /// Every `data_source` line, in order.
    pub data_sources: Vec<DataSource>,
    /// `gridname` ("unspecified").
    pub gridname: String,
    /// `authority`; `None` means Ganglia's default `http://<hostname>/ganglia/`, computed at
    /// run time with the machine's hostname (see [`GmetadConfig::authority_for`]).
    pub authority: Option<String>,
    /// `trusted_hosts` (all lines together). 127.0.0.1 is always trusted in addition.
    pub trusted_hosts: Vec<TrustedHost>,
    /// `all_trusted` (off). Real on/off meaning, unlike Ganglia's "any value enables".
    pub all_trusted: bool,
    /// `debug_level` (0).
    pub debug_level: u32,
    /// `xml_port` (8651).
    pub xml_port: u16,
    /// `interactive_port` (8652).
    pub interactive_port: u16,
    /// `xml_bind` (gmetad-rs extension): listen address of `xml_port`; `None` = all IPv4
    /// addresses (0.0.0.0), as Ganglia.
    pub xml_bind: Option<IpAddr>,
    /// `interactive_bind` (gmetad-rs extension): listen address of `interactive_port`; `None`
    /// = all IPv4 addresses (0.0.0.0), as Ganglia.
    pub interactive_bind: Option<IpAddr>,
    /// `prometheus_port` (gmetad-rs extension): serve the grid in the Prometheus text format
    /// on this port; unset = off.
    pub prometheus_port: Option<u16>,
    /// `prometheus_bind` (gmetad-rs extension): its listen address (default 127.0.0.1).
    pub prometheus_bind: Option<IpAddr>,
    /// `server_threads` (4; at least 1).
    pub server_threads: u32,
    /// `umask` (0; C integer syntax, so `022` is octal).
    pub umask: u32,
    /// `rrd_rootdir` ("/var/lib/ganglia/rrds").
    pub rrd_rootdir: String,
    /// `rrdcached_address` (unset).
    pub rrdcached_address: Option<String>,
    /// `setuid` (on; dotconf toggle: starts with y/Y/1, or "on"/"true").
    pub setuid: bool,
    /// `setuid_username` ("nobody").
    pub setuid_username: String,
    /// `scalable` (on; "off"/"no"/"false"/"0" disable, anything else enables).
    pub scalable: bool,
    /// `write_rrds` (on; "off"/"no"/"false"/"0" disable, anything else enables).
    pub write_rrds: bool,
    /// `RRAs` (the last directive wins; at most [`MAX_RRAS`]); default [`DEFAULT_RRAS`].
    pub rras: Vec<String>,
    /// `case_sensitive_hostnames` (on, as in Ganglia's code; its sample file says 0).
    pub case_sensitive_hostnames: bool,
    /// `carbon_server` (unset = no Graphite export).
    pub carbon_server: Option<String>,
    /// `carbon_port` (2003).
    pub carbon_port: u16,
    /// `carbon_protocol` (tcp).
    pub carbon_protocol: Protocol,
    /// `carbon_timeout` in milliseconds (500).
    pub carbon_timeout: u32,
    /// `graphite_prefix` (unset; deprecated).
    pub graphite_prefix: Option<String>,
    /// `graphite_path` (unset; `%s` source, `%h` host, `%m` metric).
    pub graphite_path: Option<String>,
    /// `memcached_parameters` (unset).
    pub memcached_parameters: Option<String>,
    /// `memcached_include_cluster_in_key` (off).
    pub memcached_include_cluster_in_key: bool,
    /// `riemann_server` (unset).
    pub riemann_server: Option<String>,
    /// `riemann_port` (5555).
    pub riemann_port: u16,
    /// `riemann_protocol` (udp).
    pub riemann_protocol: Protocol,
    /// `riemann_attributes` (unset; "key=value,key=value").
    pub riemann_attributes: Option<String>,
    /// `unsummarized_metrics` (all lines together): name PREFIXES left out of summaries.
    pub unsummarized_metrics: Vec<String>,
    /// `unsummarized_sflow_vm_metrics` (off; dotconf toggle).
    pub unsummarized_sflow_vm_metrics: bool,
    /// `summarized_metrics` (all lines together): if non-empty, the root summary only has
    /// these exact names.
    pub summarized_metrics: Vec<String>,
    /// Every file read, in order: the main file first, then each included file.
    pub files: Vec<String>,
}

impl Default for GmetadConfig {
    fn default() -> GmetadConfig {
        GmetadConfig {
            data_sources: Vec::new(),
            gridname: "unspecified".into(),
            authority: None,
            trusted_hosts: Vec::new(),
            all_trusted: false,
            debug_level: 0,
            xml_port: 8651,
            interactive_port: 8652,
            xml_bind: None,
            interactive_bind: None,
            prometheus_port: None,
            prometheus_bind: None,
            server_threads: 4,
            umask: 0,
            rrd_rootdir: "/var/lib/ganglia/rrds".into(),
            rrdcached_address: None,
            setuid: true,
            setuid_username: "nobody".into(),
            scalable: true,
            write_rrds: true,
            rras: DEFAULT_RRAS.iter().map(|s| (*s).to_owned()).collect(),
            case_sensitive_hostnames: true,
            carbon_server: None,
            carbon_port: 2003,
            carbon_protocol: Protocol::Tcp,
            carbon_timeout: 500,
            graphite_prefix: None,
            graphite_path: None,
            memcached_parameters: None,
            memcached_include_cluster_in_key: false,
            riemann_server: None,
            riemann_port: 5555,
            riemann_protocol: Protocol::Udp,
            riemann_attributes: None,
            unsummarized_metrics: Vec::new(),
            unsummarized_sflow_vm_metrics: false,
            summarized_metrics: Vec::new(),
            files: Vec::new(),
        }
    }
}

impl GmetadConfig {
    /// Whole-file checks the daemon applies when it uses a real file: at least one
    /// `data_source` (gmetad-rs has a built-in default when no file exists at all).
    pub fn validate(&self) -> Result<(), ConfError> {
        if self.data_sources.is_empty() {
            return Err(ConfError {
                pos: None,
                kind: ConfErrorKind::Validation(
                    "gmetad.conf needs at least one data_source".into(),
                ),
            });
        }
        Ok(())
    }

    /// The authority URL: the configured one, or `http://<hostname>/ganglia/`.
    pub fn authority_for(&self, hostname: &str) -> String {
        match &self.authority {
            Some(a) => a.clone(),
            None => format!("http://{hostname}/ganglia/"),
        }
    }

    /// Whether a peer may connect to the XML or interactive port: loopback (127.0.0.1, ::1,
    /// and IPv4-mapped 127.0.0.1), `all_trusted`, or an address/network entry of
    /// `trusted_hosts`. Host-name entries never match here: the daemon resolves them.
    pub fn is_trusted(&self, peer: IpAddr) -> bool {
        let peer = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
            v4 => v4,
        };
        self.all_trusted
            || peer == IpAddr::V4(Ipv4Addr::LOCALHOST)
            || peer == IpAddr::V6(Ipv6Addr::LOCALHOST)
            || self.trusted_hosts.iter().any(|t| t.matches(peer))
    }
}

/// A `data_source` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSource {
    /// The label (first argument).
    pub name: String,
    /// Polling interval in seconds ([`DEFAULT_STEP`] unless the second argument is a number).
    pub step: u32,
    /// The addresses, tried in order.
    pub addresses: Vec<SourceAddr>,
}

/// One `host[:port]` of a data source (IPv6 literals as `[::1]:8649` or bare `::1`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceAddr {
    /// Host name or address literal, without brackets.
    pub host: String,
    /// Port ([`DEFAULT_DATA_SOURCE_PORT`] when not given).
    pub port: u16,
}

impl std::fmt::Display for SourceAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// A `trusted_hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TrustedHost {
    /// An address (`prefix` = 32 or 128) or a CIDR network.
    Net {
        /// Network address.
        addr: IpAddr,
        /// Prefix length.
        prefix: u8,
    },
    /// A host name, to be resolved by the daemon.
    Name(String),
}

impl TrustedHost {
    /// Parse an entry: `1.2.3.4`, `10.0.0.0/8`, `::1`, `[::1]`, `2001:db8::/32`, or a name.
    /// `None` for a malformed network (bad prefix, or a name with `/`).
    pub fn parse(s: &str) -> Option<TrustedHost> {
        if let Some((a, p)) = s.split_once('/') {
            let addr = parse_ip(a)?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix: u8 = p.parse().ok().filter(|p| *p <= max)?;
            return Some(TrustedHost::Net { addr, prefix });
        }
        if let Some(addr) = parse_ip(s) {
            let prefix = if addr.is_ipv4() { 32 } else { 128 };
            return Some(TrustedHost::Net { addr, prefix });
        }
        (!s.is_empty()).then(|| TrustedHost::Name(s.to_owned()))
    }

    /// Whether `peer` is this address or inside this network (names never match).
    pub fn matches(&self, peer: IpAddr) -> bool {
        match self {
            TrustedHost::Net { addr, prefix } => {
                AccessRule::new(*addr, *prefix, AclAction::Allow).matches(peer)
            }
            TrustedHost::Name(_) => false,
        }
    }
}

/// Transport of an exporter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// Parse gmetad.conf text. `name` is used in error positions and as the file's identity for
/// include-cycle detection; includes are read through `fs`.
pub fn parse_gmetad_str(
    text: &str,
    name: &str,
    fs: &dyn FileSource,
) -> Result<GmetadConfig, ConfError> {
    let mut reader = Reader::new(fs);
    let mut directives = Vec::new();
    reader.read(text, name, None, &mut directives)?;
    let mut cfg = GmetadConfig::default();
    for d in &directives {
        apply(&mut cfg, d)?;
    }
    cfg.files = reader.files;
    Ok(cfg)
}

/// Read and parse a gmetad.conf from the file system (includes too).
pub fn parse_gmetad_file(path: &str) -> Result<GmetadConfig, ConfError> {
    let fs = StdFs;
    let text = fs.read_for_parse(path)?;
    parse_gmetad_str(&text, path, &fs)
}

// ---------------------------------------------------------------------------------------------

/// The single argument of a scalar directive.
fn one<'d>(d: &'d Directive, key: &str) -> Result<&'d Arg, ConfError> {
    match d.args.as_slice() {
        [a] => Ok(a),
        [] => Err(ConfError::at(
            &d.pos,
            ConfErrorKind::MissingArgument {
                option: key.to_owned(),
                needs: "an argument",
            },
        )),
        [_, extra, ..] => Err(invalid(
            &extra.pos,
            key,
            format!(
                "takes one argument, got {} (quote values that contain blanks)",
                d.args.len()
            ),
        )),
    }
}

fn text(d: &Directive, key: &str) -> Result<String, ConfError> {
    one(d, key).map(|a| a.text.clone())
}

fn list(d: &Directive, key: &str) -> Result<Vec<String>, ConfError> {
    if d.args.is_empty() {
        return Err(ConfError::at(
            &d.pos,
            ConfErrorKind::MissingArgument {
                option: key.to_owned(),
                needs: "at least one argument",
            },
        ));
    }
    Ok(d.args.iter().map(|a| a.text.clone()).collect())
}

fn int_u32(d: &Directive, key: &str) -> Result<u32, ConfError> {
    let a = one(d, key)?;
    values::u32_(&a.pos, key, &a.text)
}

fn port(d: &Directive, key: &str) -> Result<u16, ConfError> {
    let a = one(d, key)?;
    values::port(&a.pos, key, &a.text)
}

/// dotconf ARG_TOGGLE: true if it starts with Y, y or 1, or is "on" / "true".
fn toggle(d: &Directive, key: &str) -> Result<bool, ConfError> {
    let t = one(d, key)?.text.trim();
    Ok(t.starts_with(['Y', 'y', '1'])
        || t.eq_ignore_ascii_case("on")
        || t.eq_ignore_ascii_case("true"))
}

/// An INT option used as a flag: any integer (non-zero = on) or a boolean word.
fn flag(d: &Directive, key: &str) -> Result<bool, ConfError> {
    let a = one(d, key)?;
    if let Some(n) = values::parse_c_int(&a.text) {
        return Ok(n != 0);
    }
    values::parse_confuse_bool(&a.text).ok_or_else(|| {
        bad(
            &a.pos,
            key,
            "on/off, yes/no, true/false or an integer",
            &a.text,
        )
    })
}

/// A STR option where only "off" disables (Ganglia's scalable / write_rrds).
fn not_off(d: &Directive, key: &str) -> Result<bool, ConfError> {
    let t = one(d, key)?.text.trim().to_ascii_lowercase();
    Ok(!matches!(t.as_str(), "off" | "no" | "false" | "0"))
}

fn protocol(d: &Directive, key: &str) -> Result<Protocol, ConfError> {
    let a = one(d, key)?;
    match a.text.trim().to_ascii_lowercase().as_str() {
        "tcp" => Ok(Protocol::Tcp),
        "udp" => Ok(Protocol::Udp),
        _ => Err(bad(&a.pos, key, "\"tcp\" or \"udp\"", &a.text)),
    }
}

fn bind(d: &Directive, key: &str) -> Result<IpAddr, ConfError> {
    let a = one(d, key)?;
    parse_ip(&a.text).ok_or_else(|| bad(&a.pos, key, values::EXPECT_IP, &a.text))
}

fn apply(c: &mut GmetadConfig, d: &Directive) -> Result<(), ConfError> {
    let key = d.name.to_ascii_lowercase();
    let k = key.as_str();
    // Messages name the option as written.
    let n = d.name.as_str();
    match k {
        "data_source" => c.data_sources.push(data_source(d)?),
        "gridname" => c.gridname = text(d, n)?,
        "authority" => c.authority = Some(text(d, n)?),
        "trusted_hosts" => {
            if d.args.is_empty() {
                return Err(ConfError::at(
                    &d.pos,
                    ConfErrorKind::MissingArgument {
                        option: n.to_owned(),
                        needs: "at least one host",
                    },
                ));
            }
            for a in &d.args {
                let t = TrustedHost::parse(&a.text).ok_or_else(|| {
                    bad(
                        &a.pos,
                        n,
                        "an address, a network (a.b.c.d/len) or a host name",
                        &a.text,
                    )
                })?;
                c.trusted_hosts.push(t);
            }
        }
        "all_trusted" => c.all_trusted = flag(d, n)?,
        "debug_level" => c.debug_level = int_u32(d, n)?,
        "xml_port" => c.xml_port = port(d, n)?,
        "interactive_port" => c.interactive_port = port(d, n)?,
        "xml_bind" => c.xml_bind = Some(bind(d, n)?),
        "interactive_bind" => c.interactive_bind = Some(bind(d, n)?),
        "prometheus_port" => c.prometheus_port = Some(port(d, n)?),
        "prometheus_bind" => c.prometheus_bind = Some(bind(d, n)?),
        "server_threads" => {
            let threads = int_u32(d, n)?;
            if threads == 0 {
                return Err(invalid(&d.args[0].pos, n, "must be at least 1"));
            }
            c.server_threads = threads;
        }
        "umask" => c.umask = int_u32(d, n)? & 0o7077,
        "rrd_rootdir" => c.rrd_rootdir = text(d, n)?,
        "rrdcached_address" => c.rrdcached_address = Some(text(d, n)?),
        "setuid" => c.setuid = toggle(d, n)?,
        "setuid_username" => c.setuid_username = text(d, n)?,
        "scalable" => c.scalable = not_off(d, n)?,
        "write_rrds" => c.write_rrds = not_off(d, n)?,
        "rras" => {
            let l = list(d, n)?;
            if l.len() > MAX_RRAS {
                return Err(invalid(
                    &d.pos,
                    n,
                    format!("at most {MAX_RRAS} RRAs, got {}", l.len()),
                ));
            }
            c.rras = l;
        }
        "case_sensitive_hostnames" => c.case_sensitive_hostnames = flag(d, n)?,
        "carbon_server" => c.carbon_server = Some(text(d, n)?),
        "carbon_port" => c.carbon_port = port(d, n)?,
        "carbon_protocol" => c.carbon_protocol = protocol(d, n)?,
        "carbon_timeout" => c.carbon_timeout = int_u32(d, n)?,
        "graphite_prefix" => c.graphite_prefix = Some(text(d, n)?),
        "graphite_path" => c.graphite_path = Some(text(d, n)?),
        "memcached_parameters" => c.memcached_parameters = Some(text(d, n)?),
        "memcached_include_cluster_in_key" => c.memcached_include_cluster_in_key = flag(d, n)?,
        "riemann_server" => c.riemann_server = Some(text(d, n)?),
        "riemann_port" => c.riemann_port = port(d, n)?,
        "riemann_protocol" => c.riemann_protocol = protocol(d, n)?,
        "riemann_attributes" => c.riemann_attributes = Some(text(d, n)?),
        "unsummarized_metrics" => c.unsummarized_metrics.extend(list(d, n)?),
        "unsummarized_sflow_vm_metrics" => c.unsummarized_sflow_vm_metrics = toggle(d, n)?,
        "summarized_metrics" => c.summarized_metrics.extend(list(d, n)?),
        _ => {
            return Err(ConfError::at(
                &d.pos,
                ConfErrorKind::UnknownOption {
                    name: d.name.clone(),
                    section: "top level".into(),
                },
            ));
        }
    }
    Ok(())
}

fn data_source(d: &Directive) -> Result<DataSource, ConfError> {
    const K: &str = "data_source";
    let Some((name, rest)) = d.args.split_first() else {
        return Err(ConfError::at(
            &d.pos,
            ConfErrorKind::MissingArgument {
                option: K.into(),
                needs: "a name and at least one address",
            },
        ));
    };
    let mut step = DEFAULT_STEP;
    let mut addrs = rest;
    if let Some((first, tail)) = rest.split_first() {
        if !first.text.is_empty() && first.text.bytes().all(|b| b.is_ascii_digit()) {
            step = first
                .text
                .parse::<u32>()
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| {
                    invalid(
                        &first.pos,
                        K,
                        format!(
                            "polling interval of '{}' must be between 1 and {}",
                            name.text,
                            u32::MAX
                        ),
                    )
                })?;
            addrs = tail;
        }
    }
    if addrs.is_empty() {
        return Err(ConfError::at(
            &d.pos,
            ConfErrorKind::MissingArgument {
                option: K.into(),
                needs: "a name and at least one address",
            },
        ));
    }
    let addresses = addrs
        .iter()
        .map(source_addr)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DataSource {
        name: name.text.clone(),
        step,
        addresses,
    })
}

fn source_addr(a: &Arg) -> Result<SourceAddr, ConfError> {
    let err = || {
        bad(
            &a.pos,
            "data_source",
            "an address host[:port] or [ipv6]:port",
            &a.text,
        )
    };
    let t = a.text.trim();
    let (host, port) = if let Some(r) = t.strip_prefix('[') {
        let (h, after) = r.split_once(']').ok_or_else(err)?;
        if after.is_empty() {
            (h, None)
        } else {
            (h, Some(after.strip_prefix(':').ok_or_else(err)?))
        }
    } else {
        match t.matches(':').count() {
            0 => (t, None),
            1 => t
                .split_once(':')
                .map(|(h, p)| (h, Some(p)))
                .ok_or_else(err)?,
            _ if t.parse::<Ipv6Addr>().is_ok() => (t, None),
            _ => return Err(err()),
        }
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(err());
    }
    let port = match port {
        None => DEFAULT_DATA_SOURCE_PORT,
        Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(err)?,
    };
    Ok(SourceAddr {
        host: host.to_owned(),
        port,
    })
}

/// The RRD directory ganglia-rs uses when no gmetad.conf names one (gmetad-rs writes there and
/// gweb-rs reads there): `GANGLIA_RS_RRDS` if set, else `/var/lib/ganglia-rs/rrds` for root,
/// else `$XDG_DATA_HOME/ganglia-rs/rrds` (or `$HOME/.local/share/ganglia-rs/rrds`). Pure: the
/// caller passes its environment lookup and whether it runs as root.
pub fn default_rrd_rootdir(
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
    root: bool,
) -> std::path::PathBuf {
    use std::path::PathBuf;
    if let Some(p) = env("GANGLIA_RS_RRDS") {
        return PathBuf::from(p);
    }
    if root {
        return PathBuf::from("/var/lib/ganglia-rs/rrds");
    }
    env("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("ganglia-rs/rrds")
}

#[cfg(test)]
#[path = "gmetad_tests.rs"]
mod tests;
