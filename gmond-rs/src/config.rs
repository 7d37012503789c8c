//! The agent's resolved runtime configuration: addresses resolved, defaults applied, groups
//! ready for the scheduler. Built from a parsed gmond.conf ([`AgentConfig::from_gmond_conf`]),
//! from the built-in standalone default ([`AgentConfig::standalone`]), or in code by embedders.

use crate::core::hosts::Limits;
use crate::core::schedule::{GroupMetricSpec, GroupSpec};
use crate::net::udp::{RecvSpec, SendSpec};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

pub use ganglia_proto::conf::gmond::Acl;
use ganglia_proto::conf::gmond::{Family, GmondConfig};
use std::net::ToSocketAddrs;

/// Problems turning a parsed gmond.conf into a runnable configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A host name did not resolve.
    #[error("{option} = {value:?}: cannot resolve: {reason}")]
    Resolve {
        /// The option (`udp_send_channel host`, ...).
        option: &'static str,
        /// Its value.
        value: String,
        /// Why.
        reason: String,
    },
    /// An address option is not an IP address.
    #[error("{option} = {value:?}: not an IP address")]
    BadAddress {
        /// The option.
        option: &'static str,
        /// Its value.
        value: String,
    },
    /// A send channel has neither host nor mcast_join.
    #[error("udp_send_channel needs either host or mcast_join")]
    NoDestination,
    /// bind and bind_hostname together.
    #[error("udp_send_channel: bind and bind_hostname are mutually exclusive")]
    BindAndBindHostname,
}

fn ip(option: &'static str, v: &str) -> Result<IpAddr, ConfigError> {
    v.trim().parse().map_err(|_| ConfigError::BadAddress {
        option,
        value: v.to_owned(),
    })
}

fn resolve(option: &'static str, host: &str, port: u16) -> Result<SocketAddr, ConfigError> {
    if let Ok(a) = host.trim().parse::<IpAddr>() {
        return Ok(SocketAddr::new(a, port));
    }
    let err = |reason: String| ConfigError::Resolve {
        option,
        value: host.to_owned(),
        reason,
    };
    let mut addrs = (host.trim(), port)
        .to_socket_addrs()
        .map_err(|e| err(e.to_string()))?;
    addrs.next().ok_or_else(|| err("no address".into()))
}

/// `cluster { }` attributes written on the CLUSTER element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    /// NAME.
    pub name: String,
    /// OWNER.
    pub owner: String,
    /// LATLONG.
    pub latlong: String,
    /// URL.
    pub url: String,
}

impl Default for ClusterInfo {
    fn default() -> Self {
        let u = || "unspecified".to_owned();
        ClusterInfo {
            name: u(),
            owner: u(),
            latlong: u(),
            url: u(),
        }
    }
}

/// A receive channel.
#[derive(Debug, Clone, PartialEq)]
pub struct RecvChannel {
    /// Socket parameters.
    pub spec: RecvSpec,
    /// Who may send to it (`None` = everyone).
    pub acl: Option<Acl>,
    /// Retry binding every 60 s instead of failing start-up.
    pub retry_bind: bool,
}

/// A TCP channel serving the XML dump.
#[derive(Debug, Clone, PartialEq)]
pub struct TcpChannel {
    /// Listen address.
    pub addr: SocketAddr,
    /// Write timeout (`None`: the default of 10 s; gmond's -1 meant "block forever").
    pub timeout: Option<Duration>,
    /// Compress the dump with gzip.
    pub gzip: bool,
    /// Who may connect (`None` = everyone).
    pub acl: Option<Acl>,
}

/// Everything an agent needs to run.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentConfig {
    /// CLUSTER attributes.
    pub cluster: ClusterInfo,
    /// This host's location (`host { location }` or `-l`).
    pub location: String,
    /// `metric_id.host` for our own metrics.
    pub hostname: String,
    /// `globals { override_hostname }`.
    pub override_hostname: Option<String>,
    /// `globals { override_ip }`.
    pub override_ip: Option<String>,
    /// TAGS written on every HOST.
    pub tags: String,
    /// HOST DMAX and host expiry (0 = never).
    pub host_dmax: u64,
    /// HOST TMAX.
    pub host_tmax: u64,
    /// Minimum seconds between cleanups.
    pub cleanup_threshold: u64,
    /// Seconds between metadata re-sends (0 = only at start and on request).
    pub send_metadata_interval: u64,
    /// Receive buffer size per datagram.
    pub max_udp_msg_len: usize,
    /// Write EXTRA_DATA in XML.
    pub allow_extra_data: bool,
    /// Do not listen.
    pub deaf: bool,
    /// Do not collect or send.
    pub mute: bool,
    /// Report gexec ON.
    pub gexec: bool,
    /// Send channels.
    pub send: Vec<SendSpec>,
    /// Receive channels.
    pub recv: Vec<RecvChannel>,
    /// XML channels.
    pub tcp: Vec<TcpChannel>,
    /// Collection groups.
    pub groups: Vec<GroupSpec>,
    /// Host and metric caps.
    pub limits: Limits,
    /// Collect the built-in host metrics.
    pub host_metrics: bool,
}

/// The machine's host name (what apr_gethostname returns).
pub fn system_hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for its whole length; gethostname NUL-terminates within it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".to_owned();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

fn group(once: bool, every: u64, threshold: u64, metrics: &[(&str, f64, &str)]) -> GroupSpec {
    GroupSpec {
        collect_once: once,
        collect_every: every,
        time_threshold: threshold,
        metrics: metrics
            .iter()
            .map(|(n, v, t)| GroupMetricSpec {
                name: Some((*n).to_owned()),
                name_match: None,
                value_threshold: *v,
                title: (!t.is_empty()).then(|| (*t).to_owned()),
            })
            .collect(),
    }
}

/// The default collection groups of `gmond -t` on Linux (reference §4.4).
pub fn default_groups() -> Vec<GroupSpec> {
    crate::collect::groups::DEFAULT_GROUPS
        .iter()
        .map(|g| group(g.collect_once, g.collect_every, g.time_threshold, g.metrics))
        .collect()
}

impl AgentConfig {
    /// The built-in default used when no gmond.conf exists: a standalone node that works on any
    /// machine. Unicast to and from 127.0.0.1:8649, XML on 127.0.0.1:8649, metadata re-sent
    /// every 30 s, the default collection groups.
    pub fn standalone() -> AgentConfig {
        let lo: IpAddr = Ipv4Addr::LOCALHOST.into();
        AgentConfig {
            cluster: ClusterInfo::default(),
            location: "unspecified".into(),
            hostname: system_hostname(),
            override_hostname: None,
            override_ip: None,
            tags: String::new(),
            host_dmax: 86400,
            host_tmax: 20,
            cleanup_threshold: 300,
            send_metadata_interval: 30,
            max_udp_msg_len: 1472,
            allow_extra_data: true,
            deaf: false,
            mute: false,
            gexec: false,
            send: vec![SendSpec {
                dest: SocketAddr::new(lo, 8649),
                ttl: 1,
                mcast_if: None,
                bind: None,
            }],
            recv: vec![RecvChannel {
                spec: RecvSpec {
                    bind: lo,
                    port: 8649,
                    mcast_join: None,
                    mcast_if: None,
                    buffer: 0,
                },
                acl: None,
                retry_bind: true,
            }],
            tcp: vec![TcpChannel {
                addr: SocketAddr::new(lo, 8649),
                timeout: None,
                gzip: false,
                acl: None,
            }],
            groups: default_groups(),
            limits: Limits::default(),
            host_metrics: true,
        }
    }

    /// Resolve a parsed gmond.conf: host names looked up once (as gmond does at start-up),
    /// defaults applied (port 8649), collection groups converted.
    pub fn from_gmond_conf(c: &GmondConfig) -> Result<AgentConfig, ConfigError> {
        const PORT: u16 = 8649;
        let g = &c.globals;
        let hostname = system_hostname();
        let mut send = Vec::new();
        for ch in &c.udp_send_channels {
            let port = ch.port.unwrap_or(PORT);
            let dest = match (&ch.mcast_join, &ch.host) {
                (Some(m), _) => SocketAddr::new(ip("udp_send_channel mcast_join", m)?, port),
                (None, Some(h)) => resolve("udp_send_channel host", h, port)?,
                (None, None) => return Err(ConfigError::NoDestination),
            };
            let bind = match (&ch.bind, ch.bind_hostname) {
                (Some(_), true) => return Err(ConfigError::BindAndBindHostname),
                (Some(b), false) => Some(ip("udp_send_channel bind", b)?),
                (None, true) => Some(resolve("udp_send_channel bind_hostname", &hostname, 0)?.ip()),
                (None, false) => None,
            };
            send.push(SendSpec {
                dest,
                ttl: ch.ttl,
                mcast_if: ch.mcast_if.clone(),
                bind,
            });
        }
        let any = |f: Family| -> IpAddr {
            match f {
                Family::Inet6 => std::net::Ipv6Addr::UNSPECIFIED.into(),
                _ => Ipv4Addr::UNSPECIFIED.into(),
            }
        };
        let mut recv = Vec::new();
        for ch in &c.udp_recv_channels {
            let mcast_join = ch
                .mcast_join
                .as_deref()
                .map(|m| ip("udp_recv_channel mcast_join", m))
                .transpose()?;
            let bind = match &ch.bind {
                Some(b) => ip("udp_recv_channel bind", b)?,
                None => any(ch.family),
            };
            recv.push(RecvChannel {
                spec: RecvSpec {
                    bind,
                    port: ch.port.unwrap_or(PORT),
                    mcast_join,
                    mcast_if: ch.mcast_if.clone(),
                    buffer: usize::try_from(ch.buffer).unwrap_or(usize::MAX),
                },
                acl: ch.acl.clone(),
                retry_bind: ch.retry_bind,
            });
        }
        let mut tcp = Vec::new();
        for ch in &c.tcp_accept_channels {
            let bind = match &ch.bind {
                Some(b) => ip("tcp_accept_channel bind", b)?,
                None => any(ch.family),
            };
            tcp.push(TcpChannel {
                addr: SocketAddr::new(bind, ch.port.unwrap_or(PORT)),
                timeout: ch.timeout.filter(|t| *t > 0).map(Duration::from_micros),
                gzip: ch.gzip_output,
                acl: ch.acl.clone(),
            });
        }
        let groups = c
            .collection_groups
            .iter()
            .map(|cg| GroupSpec {
                collect_once: cg.collect_once,
                collect_every: cg.collect_every,
                time_threshold: cg.time_threshold,
                metrics: cg
                    .metrics
                    .iter()
                    .map(|m| GroupMetricSpec {
                        name: m.name.clone(),
                        name_match: m.name_match.clone(),
                        value_threshold: m.value_threshold.unwrap_or(-1.0),
                        title: m.title.clone(),
                    })
                    .collect(),
            })
            .collect();
        Ok(AgentConfig {
            cluster: ClusterInfo {
                name: c.cluster.name.clone(),
                owner: c.cluster.owner.clone(),
                latlong: c.cluster.latlong.clone(),
                url: c.cluster.url.clone(),
            },
            location: c.host.location.clone(),
            hostname,
            override_hostname: g.override_hostname.clone(),
            override_ip: g.override_ip.clone(),
            tags: g.tags.clone().unwrap_or_default(),
            host_dmax: g.host_dmax,
            host_tmax: g.host_tmax,
            cleanup_threshold: g.cleanup_threshold,
            send_metadata_interval: g.send_metadata_interval,
            max_udp_msg_len: usize::try_from(g.max_udp_msg_len).unwrap_or(1472).max(64),
            allow_extra_data: g.allow_extra_data,
            // gmond is deaf without listen channels and mute without send channels.
            deaf: g.deaf || (recv.is_empty() && tcp.is_empty()),
            mute: g.mute || send.is_empty(),
            gexec: g.gexec,
            send,
            recv,
            tcp,
            groups,
            limits: Limits {
                max_hosts: g.max_hosts.map_or(Limits::default().max_hosts, |n| {
                    usize::try_from(n).unwrap_or(usize::MAX)
                }),
                max_metrics_per_host: g
                    .max_metrics_per_host
                    .map_or(Limits::default().max_metrics_per_host, |n| {
                        usize::try_from(n).unwrap_or(usize::MAX)
                    }),
                ..Limits::default()
            },
            host_metrics: true,
        })
    }

    /// A config for tests and embedders: like [`AgentConfig::standalone`] but every port is 0
    /// (ephemeral) and nothing is sent until channels are added.
    pub fn ephemeral() -> AgentConfig {
        let mut c = AgentConfig::standalone();
        c.send.clear();
        for r in &mut c.recv {
            r.spec.port = 0;
        }
        for t in &mut c.tcp {
            t.addr.set_port(0);
        }
        c
    }
}
