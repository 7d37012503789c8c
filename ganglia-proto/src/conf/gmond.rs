//! gmond.conf: the typed schema of Ganglia 3.7's `lib/libgmond.c` and its parser.
//!
//! Strict like libconfuse: unknown options and sections, values of the wrong type and
//! malformed syntax are errors with `file:line:column`. Names are case-insensitive.
//! Repeating a single section (`globals`, `cluster`, `host`, `modules`, `sflow`) merges into
//! it, as libconfuse does (this is how `conf.d/*.conf` add modules); multi sections
//! (channels, `collection_group`, `module`, `metric`, `access`) append; a repeated
//! `param NAME` replaces the earlier one with the same title; a repeated option overrides.
//! `include ("glob")` is expanded where it stands; unlike Ganglia (top level only) it is also
//! accepted inside a section, splicing the included items there.
//! Strings: `"..."` know the C escapes (`\n`, `\t`, `\xHH`, `\NNN` octal, so a regex
//! back-reference in a title is written `"\\1"`); `'...'` only `\'` and `\\`.

use super::confuse::{Node, NodeKind, Parser, Val};
use super::values::{self, bad, invalid};
use super::{ConfError, ConfErrorKind, FileSource, StdFs};

pub use super::acl::{AccessRule, Acl, AclAction};

/// The whole gmond.conf. [`Default`] is the built-in schema defaults of §4.2 with no
/// channels, no collection groups and no modules (the daemon supplies its own fallbacks).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GmondConfig {
    /// `globals { }`.
    pub globals: Globals,
    /// `cluster { }`.
    pub cluster: Cluster,
    /// `host { }`.
    pub host: Host,
    /// Every `udp_send_channel { }`, in file order.
    pub udp_send_channels: Vec<UdpSendChannel>,
    /// Every `udp_recv_channel { }`, in file order.
    pub udp_recv_channels: Vec<UdpRecvChannel>,
    /// Every `tcp_accept_channel { }`, in file order.
    pub tcp_accept_channels: Vec<TcpAcceptChannel>,
    /// Every `collection_group { }`, in file order.
    pub collection_groups: Vec<CollectionGroup>,
    /// The `module { }` entries of every `modules { }` section, in file order.
    pub modules: Vec<Module>,
    /// `sflow { }`.
    pub sflow: Sflow,
    /// Every file read, in order: the main file first, then each included file.
    pub files: Vec<String>,
}

/// `globals { }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Globals {
    /// `daemonize` (yes).
    pub daemonize: bool,
    /// `setuid` (yes, as in Debian's build and `gmond -t`).
    pub setuid: bool,
    /// `user` ("nobody").
    pub user: String,
    /// `debug_level` (0).
    pub debug_level: u32,
    /// `max_udp_msg_len` (1472): the receive buffer size.
    pub max_udp_msg_len: u32,
    /// `mute` (no): do not collect or send.
    pub mute: bool,
    /// `deaf` (no): do not listen.
    pub deaf: bool,
    /// `allow_extra_data` (yes): `no` omits EXTRA_DATA from the XML.
    pub allow_extra_data: bool,
    /// `host_dmax` (86400 s; 0 = never forget hosts).
    pub host_dmax: u64,
    /// `host_tmax` (20 s).
    pub host_tmax: u64,
    /// `cleanup_threshold` (300 s).
    pub cleanup_threshold: u64,
    /// `gexec` (no).
    pub gexec: bool,
    /// `send_metadata_interval` (0 = only at start and on request).
    pub send_metadata_interval: u64,
    /// `module_dir` (unset: the build's module directory).
    pub module_dir: Option<String>,
    /// `override_hostname` (unset).
    pub override_hostname: Option<String>,
    /// `override_ip` (unset).
    pub override_ip: Option<String>,
    /// `tags` (unset: TAGS="").
    pub tags: Option<String>,
    /// gmond-rs extension `max_hosts`: most hosts kept (a spoof flood cannot exhaust memory).
    pub max_hosts: Option<u64>,
    /// gmond-rs extension `max_metrics_per_host`.
    pub max_metrics_per_host: Option<u64>,
}

impl Default for Globals {
    fn default() -> Globals {
        Globals {
            daemonize: true,
            setuid: true,
            user: "nobody".into(),
            debug_level: 0,
            max_udp_msg_len: 1472,
            mute: false,
            deaf: false,
            allow_extra_data: true,
            host_dmax: 86400,
            host_tmax: 20,
            cleanup_threshold: 300,
            gexec: false,
            send_metadata_interval: 0,
            module_dir: None,
            override_hostname: None,
            override_ip: None,
            tags: None,
            max_hosts: None,
            max_metrics_per_host: None,
        }
    }
}

/// `cluster { }`: the CLUSTER element's attributes (all default to "unspecified").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// `name`.
    pub name: String,
    /// `owner`.
    pub owner: String,
    /// `latlong`.
    pub latlong: String,
    /// `url`.
    pub url: String,
}

impl Default for Cluster {
    fn default() -> Cluster {
        let u = || "unspecified".to_owned();
        Cluster {
            name: u(),
            owner: u(),
            latlong: u(),
            url: u(),
        }
    }
}

/// `host { }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// `location` ("unspecified").
    pub location: String,
}

impl Default for Host {
    fn default() -> Host {
        Host {
            location: "unspecified".into(),
        }
    }
}

/// An address family for receive and accept channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Family {
    /// `inet4` (default).
    #[default]
    Inet4,
    /// `inet6`.
    Inet6,
}

/// `udp_send_channel { }`. Exactly one of `mcast_join` / `host` is expected by the daemon;
/// `bind` together with `bind_hostname = yes` is rejected by the parser.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UdpSendChannel {
    /// `mcast_join`: multicast group to send to.
    pub mcast_join: Option<String>,
    /// `host`: unicast destination.
    pub host: Option<String>,
    /// `port` (unset = -1 in Ganglia).
    pub port: Option<u16>,
    /// `ttl` (1; multicast only).
    pub ttl: u32,
    /// `mcast_if`: interface for multicast.
    pub mcast_if: Option<String>,
    /// `bind`: source address.
    pub bind: Option<String>,
    /// `bind_hostname` (no): bind to the address the hostname resolves to.
    pub bind_hostname: bool,
}

/// `udp_recv_channel { }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpRecvChannel {
    /// `mcast_join`: multicast group to join.
    pub mcast_join: Option<String>,
    /// `bind`: address to bind.
    pub bind: Option<String>,
    /// `port` (unset = -1 in Ganglia).
    pub port: Option<u16>,
    /// `mcast_if`.
    pub mcast_if: Option<String>,
    /// `family` (inet4).
    pub family: Family,
    /// `retry_bind` (yes): retry every 60 s instead of failing.
    pub retry_bind: bool,
    /// `buffer` (0 = OS default): SO_RCVBUF bytes.
    pub buffer: u64,
    /// `acl { }` (unset = allow all).
    pub acl: Option<Acl>,
}

impl Default for UdpRecvChannel {
    fn default() -> UdpRecvChannel {
        UdpRecvChannel {
            mcast_join: None,
            bind: None,
            port: None,
            mcast_if: None,
            family: Family::Inet4,
            retry_bind: true,
            buffer: 0,
            acl: None,
        }
    }
}

/// `tcp_accept_channel { }`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TcpAcceptChannel {
    /// `bind`.
    pub bind: Option<String>,
    /// `port` (unset = -1 in Ganglia).
    pub port: Option<u16>,
    /// `interface` (accepted, unimplemented in Ganglia).
    pub interface: Option<String>,
    /// `family` (inet4).
    pub family: Family,
    /// `timeout` in microseconds; `None` for Ganglia's -1 (any negative) = blocking.
    pub timeout: Option<u64>,
    /// `gzip_output` (no).
    pub gzip_output: bool,
    /// `acl { }` (unset = allow all).
    pub acl: Option<Acl>,
}

/// `collection_group { }`.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionGroup {
    /// `collect_once` (no).
    pub collect_once: bool,
    /// `collect_every` (60 s).
    pub collect_every: u64,
    /// `time_threshold` (3600 s).
    pub time_threshold: u64,
    /// The `metric { }` entries.
    pub metrics: Vec<MetricSpec>,
}

impl Default for CollectionGroup {
    fn default() -> CollectionGroup {
        CollectionGroup {
            collect_once: false,
            collect_every: 60,
            time_threshold: 3600,
            metrics: Vec::new(),
        }
    }
}

/// `metric { }` inside a collection group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricSpec {
    /// `name`: exact metric name, or a prefix if no metric has exactly this name.
    pub name: Option<String>,
    /// `name_match`: a regular expression.
    pub name_match: Option<String>,
    /// `value_threshold`; `None` when unset or negative (Ganglia's -1 = disabled).
    pub value_threshold: Option<f64>,
    /// `title` (may use `\1`..`\9` with `name_match`).
    pub title: Option<String>,
}

/// `module { }` inside `modules { }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// `name` (unset is reported by the daemon when it loads modules).
    pub name: Option<String>,
    /// `language` (unset = C/C++; "python" for modpython).
    pub language: Option<String>,
    /// `enabled` (yes).
    pub enabled: bool,
    /// `path` (relative paths are under `module_dir`).
    pub path: Option<String>,
    /// `params`.
    pub params: Option<String>,
    /// `param NAME { value = ... }`, in file order (a repeated NAME replaces in place).
    pub param: Vec<ModuleParam>,
}

impl Default for Module {
    fn default() -> Module {
        Module {
            name: None,
            language: None,
            enabled: true,
            path: None,
            params: None,
            param: Vec::new(),
        }
    }
}

/// `param NAME { value = ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModuleParam {
    /// The title (NAME).
    pub name: String,
    /// `value` (unset = None).
    pub value: Option<String>,
}

/// `sflow { }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sflow {
    /// `udp_port` (6343).
    pub udp_port: u16,
    /// `accept_vm_metrics` (yes).
    pub accept_vm_metrics: bool,
    /// `accept_http_metrics` (yes).
    pub accept_http_metrics: bool,
    /// `multiple_http_instances` (no).
    pub multiple_http_instances: bool,
    /// `accept_memcache_metrics` (yes).
    pub accept_memcache_metrics: bool,
    /// `multiple_memcache_instances` (no).
    pub multiple_memcache_instances: bool,
    /// `accept_jvm_metrics` (yes).
    pub accept_jvm_metrics: bool,
    /// `multiple_jvm_instances` (no).
    pub multiple_jvm_instances: bool,
}

impl Default for Sflow {
    fn default() -> Sflow {
        Sflow {
            udp_port: 6343,
            accept_vm_metrics: true,
            accept_http_metrics: true,
            multiple_http_instances: false,
            accept_memcache_metrics: true,
            multiple_memcache_instances: false,
            accept_jvm_metrics: true,
            multiple_jvm_instances: false,
        }
    }
}

/// Parse gmond.conf text. `name` is used in error positions and as the file's identity for
/// include-cycle detection; includes are read through `fs`.
pub fn parse_gmond_str(
    text: &str,
    name: &str,
    fs: &dyn FileSource,
) -> Result<GmondConfig, ConfError> {
    let mut parser = Parser::new(fs);
    let nodes = parser.parse_file(text, name, None)?;
    let mut cfg = GmondConfig::default();
    for node in &nodes {
        top_level(&mut cfg, node)?;
    }
    cfg.files = parser.files;
    Ok(cfg)
}

/// Read and parse a gmond.conf from the file system (includes too).
pub fn parse_gmond_file(path: &str) -> Result<GmondConfig, ConfError> {
    let fs = StdFs;
    let text = fs.read_for_parse(path)?;
    parse_gmond_str(&text, path, &fs)
}

impl StdFs {
    pub(crate) fn read_for_parse(&self, path: &str) -> Result<String, ConfError> {
        super::FileSource::read(self, path).map_err(|e| ConfError {
            pos: None,
            kind: ConfErrorKind::Io {
                path: path.to_owned(),
                message: e.to_string(),
            },
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Schema walking helpers.

/// The section being filled, for error messages.
#[derive(Clone, Copy)]
struct Ctx<'a>(&'a str);

impl Ctx<'_> {
    fn describe(self) -> String {
        if self.0.is_empty() {
            "top level".into()
        } else {
            format!("section '{}'", self.0)
        }
    }

    fn unknown(self, node: &Node) -> ConfError {
        let name = node.name.clone();
        let section = self.describe();
        ConfError::at(
            &node.pos,
            match node.kind {
                NodeKind::Opt(_) => ConfErrorKind::UnknownOption { name, section },
                NodeKind::Section { .. } => ConfErrorKind::UnknownSection { name, section },
            },
        )
    }
}

fn misuse(node: &Node, message: &str) -> ConfError {
    ConfError::at(
        &node.pos,
        ConfErrorKind::Misuse {
            name: node.name.clone(),
            message: message.to_owned(),
        },
    )
}

/// The value of an option node (error if it is a section).
fn val(node: &Node) -> Result<&Val, ConfError> {
    match &node.kind {
        NodeKind::Opt(v) => Ok(v),
        NodeKind::Section { .. } => Err(misuse(node, "is an option: write `name = value`")),
    }
}

/// The body of an untitled section node.
fn body(node: &Node) -> Result<&[Node], ConfError> {
    match &node.kind {
        NodeKind::Section { title: None, body } => Ok(body),
        NodeKind::Section { title: Some(_), .. } => {
            Err(misuse(node, "is a section without a title"))
        }
        NodeKind::Opt(_) => Err(misuse(node, "is a section: write `name { ... }`")),
    }
}

/// Lower-cased key of a node.
fn key(node: &Node) -> String {
    node.name.to_ascii_lowercase()
}

fn s(node: &Node) -> Result<String, ConfError> {
    Ok(val(node)?.text.clone())
}

fn os(node: &Node) -> Result<Option<String>, ConfError> {
    s(node).map(Some)
}

fn b(node: &Node) -> Result<bool, ConfError> {
    values::confuse_bool(&node.pos, &key(node), &val(node)?.text)
}

fn u(node: &Node) -> Result<u64, ConfError> {
    values::uint(&node.pos, &key(node), &val(node)?.text)
}

fn u32_(node: &Node) -> Result<u32, ConfError> {
    values::u32_(&node.pos, &key(node), &val(node)?.text)
}

/// A Ganglia port option: -1 (any negative) means unset.
fn port(node: &Node) -> Result<Option<u16>, ConfError> {
    let v = val(node)?;
    let n = values::int(&node.pos, &key(node), &v.text)?;
    if n < 0 {
        return Ok(None);
    }
    u16::try_from(n)
        .map(Some)
        .map_err(|_| bad(&node.pos, &key(node), values::EXPECT_PORT, &v.text))
}

fn family(node: &Node) -> Result<Family, ConfError> {
    let v = val(node)?;
    match v.text.to_ascii_lowercase().as_str() {
        "inet4" => Ok(Family::Inet4),
        "inet6" => Ok(Family::Inet6),
        _ => Err(bad(
            &node.pos,
            &key(node),
            "\"inet4\" or \"inet6\"",
            &v.text,
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// The schema.

fn top_level(cfg: &mut GmondConfig, node: &Node) -> Result<(), ConfError> {
    let ctx = Ctx("");
    match key(node).as_str() {
        "globals" => body(node)?
            .iter()
            .try_for_each(|n| globals(&mut cfg.globals, n)),
        "cluster" => body(node)?
            .iter()
            .try_for_each(|n| cluster(&mut cfg.cluster, n)),
        "host" => {
            for n in body(node)? {
                match key(n).as_str() {
                    "location" => cfg.host.location = s(n)?,
                    _ => return Err(Ctx("host").unknown(n)),
                }
            }
            Ok(())
        }
        "udp_send_channel" => {
            let ch = udp_send(node, body(node)?)?;
            cfg.udp_send_channels.push(ch);
            Ok(())
        }
        "udp_recv_channel" => {
            let mut ch = UdpRecvChannel::default();
            for n in body(node)? {
                let c = Ctx("udp_recv_channel");
                match key(n).as_str() {
                    "mcast_join" => ch.mcast_join = os(n)?,
                    "bind" => ch.bind = os(n)?,
                    "port" => ch.port = port(n)?,
                    "mcast_if" => ch.mcast_if = os(n)?,
                    "family" => ch.family = family(n)?,
                    "retry_bind" => ch.retry_bind = b(n)?,
                    "buffer" => ch.buffer = u(n)?,
                    "acl" => ch.acl = Some(acl(n, ch.acl.take())?),
                    _ => return Err(c.unknown(n)),
                }
            }
            cfg.udp_recv_channels.push(ch);
            Ok(())
        }
        "tcp_accept_channel" => {
            let mut ch = TcpAcceptChannel::default();
            for n in body(node)? {
                let c = Ctx("tcp_accept_channel");
                match key(n).as_str() {
                    "bind" => ch.bind = os(n)?,
                    "port" => ch.port = port(n)?,
                    "interface" => ch.interface = os(n)?,
                    "family" => ch.family = family(n)?,
                    "timeout" => {
                        let t = values::int(&n.pos, "timeout", &val(n)?.text)?;
                        ch.timeout = u64::try_from(t).ok();
                    }
                    "gzip_output" => ch.gzip_output = b(n)?,
                    "acl" => ch.acl = Some(acl(n, ch.acl.take())?),
                    _ => return Err(c.unknown(n)),
                }
            }
            cfg.tcp_accept_channels.push(ch);
            Ok(())
        }
        "collection_group" => {
            let g = collection_group(body(node)?)?;
            cfg.collection_groups.push(g);
            Ok(())
        }
        "modules" => {
            for n in body(node)? {
                match key(n).as_str() {
                    "module" => {
                        let m = module(body(n)?)?;
                        cfg.modules.push(m);
                    }
                    _ => return Err(Ctx("modules").unknown(n)),
                }
            }
            Ok(())
        }
        "sflow" => body(node)?
            .iter()
            .try_for_each(|n| sflow(&mut cfg.sflow, n)),
        _ => Err(ctx.unknown(node)),
    }
}

fn globals(g: &mut Globals, n: &Node) -> Result<(), ConfError> {
    match key(n).as_str() {
        "daemonize" => g.daemonize = b(n)?,
        "setuid" => g.setuid = b(n)?,
        "user" => g.user = s(n)?,
        "debug_level" => g.debug_level = u32_(n)?,
        "max_udp_msg_len" => g.max_udp_msg_len = u32_(n)?,
        "mute" => g.mute = b(n)?,
        "deaf" => g.deaf = b(n)?,
        "allow_extra_data" => g.allow_extra_data = b(n)?,
        "host_dmax" => g.host_dmax = u(n)?,
        "host_tmax" => g.host_tmax = u(n)?,
        "cleanup_threshold" => g.cleanup_threshold = u(n)?,
        "gexec" => g.gexec = b(n)?,
        "send_metadata_interval" => g.send_metadata_interval = u(n)?,
        "module_dir" => g.module_dir = os(n)?,
        "override_hostname" => g.override_hostname = os(n)?,
        "override_ip" => g.override_ip = os(n)?,
        "tags" => g.tags = os(n)?,
        "max_hosts" => g.max_hosts = Some(u(n)?),
        "max_metrics_per_host" => g.max_metrics_per_host = Some(u(n)?),
        _ => return Err(Ctx("globals").unknown(n)),
    }
    Ok(())
}

fn cluster(c: &mut Cluster, n: &Node) -> Result<(), ConfError> {
    match key(n).as_str() {
        "name" => c.name = s(n)?,
        "owner" => c.owner = s(n)?,
        "latlong" => c.latlong = s(n)?,
        "url" => c.url = s(n)?,
        _ => return Err(Ctx("cluster").unknown(n)),
    }
    Ok(())
}

fn udp_send(section: &Node, nodes: &[Node]) -> Result<UdpSendChannel, ConfError> {
    let mut ch = UdpSendChannel {
        ttl: 1,
        ..UdpSendChannel::default()
    };
    for n in nodes {
        match key(n).as_str() {
            "mcast_join" => ch.mcast_join = os(n)?,
            "host" => ch.host = os(n)?,
            "port" => ch.port = port(n)?,
            "ttl" => ch.ttl = u32_(n)?,
            "mcast_if" => ch.mcast_if = os(n)?,
            "bind" => ch.bind = os(n)?,
            "bind_hostname" => ch.bind_hostname = b(n)?,
            _ => return Err(Ctx("udp_send_channel").unknown(n)),
        }
    }
    if ch.bind.is_some() && ch.bind_hostname {
        return Err(invalid(
            &section.pos,
            "bind_hostname",
            "udp_send_channel cannot have both 'bind' and 'bind_hostname = yes'",
        ));
    }
    Ok(ch)
}

/// `acl { default; access { ip; mask; action } }`. A second `acl` in the same channel merges
/// into the first (single-section semantics).
fn acl(node: &Node, prev: Option<Acl>) -> Result<Acl, ConfError> {
    let mut a = prev.unwrap_or_default();
    for n in body(node)? {
        match key(n).as_str() {
            "default" => {
                let v = val(n)?;
                a.default = AclAction::parse(&v.text)
                    .ok_or_else(|| bad(&n.pos, "default", "\"allow\" or \"deny\"", &v.text))?;
            }
            "access" => a.access.push(access(n)?),
            _ => return Err(Ctx("acl").unknown(n)),
        }
    }
    Ok(a)
}

fn access(node: &Node) -> Result<AccessRule, ConfError> {
    let mut ip = None;
    let mut mask = None;
    let mut action = AclAction::Allow;
    for n in body(node)? {
        match key(n).as_str() {
            "ip" => {
                let v = val(n)?;
                ip = Some(
                    super::acl::parse_ip(&v.text)
                        .ok_or_else(|| bad(&n.pos, "ip", values::EXPECT_IP, &v.text))?,
                );
            }
            "mask" => mask = Some((n.pos.clone(), values::int(&n.pos, "mask", &val(n)?.text)?)),
            "action" => {
                let v = val(n)?;
                action = AclAction::parse(&v.text)
                    .ok_or_else(|| bad(&n.pos, "action", "\"allow\" or \"deny\"", &v.text))?;
            }
            _ => return Err(Ctx("access").unknown(n)),
        }
    }
    let Some(ip) = ip else {
        return Err(invalid(&node.pos, "ip", "every access entry needs an 'ip'"));
    };
    let max: i64 = if ip.is_ipv4() { 32 } else { 128 };
    let mask = match mask {
        None => max,
        Some((pos, m)) if !(0..=max).contains(&m) => {
            return Err(invalid(
                &pos,
                "mask",
                format!("prefix length {m} is out of range 0-{max}"),
            ));
        }
        Some((_, m)) => m,
    };
    Ok(AccessRule::new(
        ip,
        u8::try_from(mask).unwrap_or(128),
        action,
    ))
}

fn collection_group(nodes: &[Node]) -> Result<CollectionGroup, ConfError> {
    let mut g = CollectionGroup::default();
    for n in nodes {
        match key(n).as_str() {
            "collect_once" => g.collect_once = b(n)?,
            "collect_every" => g.collect_every = u(n)?,
            "time_threshold" => g.time_threshold = u(n)?,
            "metric" => {
                let mut m = MetricSpec::default();
                for o in body(n)? {
                    match key(o).as_str() {
                        "name" => m.name = os(o)?,
                        "name_match" => m.name_match = os(o)?,
                        "value_threshold" => {
                            let v = values::float(&o.pos, "value_threshold", &val(o)?.text)?;
                            m.value_threshold = (v >= 0.0).then_some(v);
                        }
                        "title" => m.title = os(o)?,
                        _ => return Err(Ctx("metric").unknown(o)),
                    }
                }
                g.metrics.push(m);
            }
            _ => return Err(Ctx("collection_group").unknown(n)),
        }
    }
    Ok(g)
}

fn module(nodes: &[Node]) -> Result<Module, ConfError> {
    let mut m = Module::default();
    for n in nodes {
        match key(n).as_str() {
            "name" => m.name = os(n)?,
            "language" => m.language = os(n)?,
            "enabled" => m.enabled = b(n)?,
            "path" => m.path = os(n)?,
            "params" => m.params = os(n)?,
            "param" => {
                let NodeKind::Section {
                    title: Some(title),
                    body,
                } = &n.kind
                else {
                    return Err(misuse(
                        n,
                        "needs a title: write `param NAME { value = ... }`",
                    ));
                };
                let mut p = ModuleParam {
                    name: title.text.clone(),
                    value: None,
                };
                for o in body {
                    match key(o).as_str() {
                        "value" => p.value = os(o)?,
                        _ => return Err(Ctx("param").unknown(o)),
                    }
                }
                match m
                    .param
                    .iter_mut()
                    .find(|q| q.name.eq_ignore_ascii_case(&p.name))
                {
                    Some(q) => *q = p,
                    None => m.param.push(p),
                }
            }
            _ => return Err(Ctx("module").unknown(n)),
        }
    }
    Ok(m)
}

fn sflow(f: &mut Sflow, n: &Node) -> Result<(), ConfError> {
    match key(n).as_str() {
        "udp_port" => f.udp_port = values::port(&n.pos, "udp_port", &val(n)?.text)?,
        "accept_vm_metrics" => f.accept_vm_metrics = b(n)?,
        "accept_http_metrics" => f.accept_http_metrics = b(n)?,
        "multiple_http_instances" => f.multiple_http_instances = b(n)?,
        "accept_memcache_metrics" => f.accept_memcache_metrics = b(n)?,
        "multiple_memcache_instances" => f.multiple_memcache_instances = b(n)?,
        "accept_jvm_metrics" => f.accept_jvm_metrics = b(n)?,
        "multiple_jvm_instances" => f.multiple_jvm_instances = b(n)?,
        _ => return Err(Ctx("sflow").unknown(n)),
    }
    Ok(())
}

#[cfg(test)]
#[path = "gmond_tests.rs"]
mod tests;
