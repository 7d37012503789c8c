//! gmetad-rs's resolved runtime configuration, from a parsed gmetad.conf or the built-in
//! default (one data source "local" at 127.0.0.1:8649, ports on 127.0.0.1, RRDs under a local
//! data directory).

use ganglia_proto::conf::gmetad::{DataSource, GmetadConfig, Protocol, SourceAddr, TrustedHost};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

/// One data source with its addresses resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The data_source name (a label; the tree is keyed by the CLUSTER/GRID NAME in the XML).
    pub name: String,
    /// Polling step in seconds (also the RRD step).
    pub step: u32,
    /// Addresses in failover order.
    pub addrs: Vec<SocketAddr>,
}

/// Everything the collector needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Data sources.
    pub sources: Vec<Source>,
    /// GRID NAME.
    pub gridname: String,
    /// GRID AUTHORITY.
    pub authority: String,
    /// Who may read the ports besides loopback.
    pub trusted: Vec<TrustedHost>,
    /// Everyone may read.
    pub all_trusted: bool,
    /// xml_port listen address.
    pub xml_addr: SocketAddr,
    /// interactive_port listen address.
    pub interactive_addr: SocketAddr,
    /// Prometheus exposition listen address (off when `None`).
    pub prometheus_addr: Option<SocketAddr>,
    /// RRD tree root.
    pub rrd_rootdir: PathBuf,
    /// rrdcached address (`host:port` or `unix:/path`).
    pub rrdcached: Option<String>,
    /// Whether RRDs are written.
    pub write_rrds: bool,
    /// RRA definitions for new files.
    pub rras: Vec<String>,
    /// Authority mode for nested grids.
    pub scalable: bool,
    /// When false, host names are lower-cased for RRD directories and lookups.
    pub case_sensitive_hostnames: bool,
    /// Carbon server, transport and timeout.
    pub carbon: Option<(SocketAddr, Protocol, Duration)>,
    /// graphite_prefix.
    pub graphite_prefix: Option<String>,
    /// graphite_path.
    pub graphite_path: Option<String>,
    /// Metric name prefixes not summarised.
    pub unsummarized_metrics: Vec<String>,
    /// Skip sFlow VM metrics in summaries.
    pub unsummarized_sflow_vm_metrics: bool,
    /// If non-empty, the root summary only includes these names.
    pub summarized_metrics: Vec<String>,
    /// Write timeout on the XML ports (a slow reader is dropped after this).
    pub write_timeout: Duration,
    /// Riemann export (`riemann_server` set).
    pub riemann: Option<crate::export::riemann::Settings>,
    /// memcached export (`memcached_parameters` set).
    pub memcached: Option<crate::export::memcached::Settings>,
    /// `server_threads`: at most this many connections are served at once on interactive_port
    /// and half as many (at least 1) on xml_port; more wait to be accepted.
    pub server_threads: u32,
    /// User to become once the ports are bound (`setuid` / `setuid_username`); `None` keeps
    /// the current user.
    pub setuid_user: Option<String>,
}

/// Problems resolving a gmetad.conf.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No data_source resolved to any address.
    #[error("no data_source has a resolvable address")]
    NoSources,
    /// carbon_server did not resolve.
    #[error("carbon_server {0:?} does not resolve")]
    Carbon(String),
    /// riemann_server did not resolve.
    #[error("riemann_server {0:?} does not resolve")]
    Riemann(String),
    /// memcached_parameters unusable.
    #[error(transparent)]
    Memcached(#[from] crate::export::memcached::ParamError),
}

/// The local data directory used when no gmetad.conf names one
/// ([`ganglia_proto::conf::gmetad::default_rrd_rootdir`], the rule gweb-rs shares).
pub fn default_rrd_rootdir() -> PathBuf {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    ganglia_proto::conf::gmetad::default_rrd_rootdir(|k| std::env::var_os(k), root)
}

/// This machine's host name.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for its length; gethostname NUL-terminates within it.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

impl Config {
    /// Resolve a parsed gmetad.conf. Unresolvable data source addresses are dropped with a
    /// warning, as gmetad does; a source left without addresses is dropped too.
    pub fn from_conf(c: &GmetadConfig) -> Result<Config, ConfigError> {
        let mut sources = Vec::new();
        for ds in &c.data_sources {
            let mut addrs = Vec::new();
            for a in &ds.addresses {
                match (a.host.as_str(), a.port).to_socket_addrs() {
                    Ok(mut it) => match it.next() {
                        Some(sa) => addrs.push(sa),
                        None => {
                            tracing::warn!(source = %ds.name, host = %a.host, "Address does not resolve; dropped.")
                        }
                    },
                    Err(e) => {
                        tracing::warn!(source = %ds.name, host = %a.host, error = %e, "Address does not resolve; dropped.")
                    }
                }
            }
            if addrs.is_empty() {
                tracing::warn!(source = %ds.name, "Data source has no usable address; ignored.");
                continue;
            }
            sources.push(Source {
                name: ds.name.clone(),
                step: ds.step.max(1),
                addrs,
            });
        }
        if sources.is_empty() {
            return Err(ConfigError::NoSources);
        }
        let any: IpAddr = Ipv4Addr::UNSPECIFIED.into();
        let carbon = match &c.carbon_server {
            Some(h) => {
                let sa = (h.as_str(), c.carbon_port)
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut i| i.next())
                    .ok_or_else(|| ConfigError::Carbon(h.clone()))?;
                Some((
                    sa,
                    c.carbon_protocol,
                    Duration::from_millis(u64::from(c.carbon_timeout.max(1))),
                ))
            }
            None => None,
        };
        let riemann = match &c.riemann_server {
            Some(h) => Some(crate::export::riemann::Settings {
                addr: (h.as_str(), c.riemann_port)
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut i| i.next())
                    .ok_or_else(|| ConfigError::Riemann(h.clone()))?,
                transport: match c.riemann_protocol {
                    Protocol::Tcp => crate::export::riemann::Transport::Tcp,
                    Protocol::Udp => crate::export::riemann::Transport::Udp,
                },
                attributes: c.riemann_attributes.clone(),
            }),
            None => None,
        };
        let memcached = c
            .memcached_parameters
            .as_deref()
            .map(|p| {
                crate::export::memcached::Settings::resolve(p, c.memcached_include_cluster_in_key)
            })
            .transpose()?;
        Ok(Config {
            sources,
            gridname: c.gridname.clone(),
            authority: c.authority_for(&hostname()),
            trusted: c.trusted_hosts.clone(),
            all_trusted: c.all_trusted,
            xml_addr: SocketAddr::new(c.xml_bind.unwrap_or(any), c.xml_port),
            interactive_addr: SocketAddr::new(
                c.interactive_bind.unwrap_or(any),
                c.interactive_port,
            ),
            prometheus_addr: c.prometheus_port.map(|p| {
                SocketAddr::new(c.prometheus_bind.unwrap_or(Ipv4Addr::LOCALHOST.into()), p)
            }),
            rrd_rootdir: PathBuf::from(&c.rrd_rootdir),
            rrdcached: c.rrdcached_address.clone(),
            write_rrds: c.write_rrds,
            rras: c.rras.clone(),
            scalable: c.scalable,
            case_sensitive_hostnames: c.case_sensitive_hostnames,
            carbon,
            graphite_prefix: c.graphite_prefix.clone(),
            graphite_path: c.graphite_path.clone(),
            unsummarized_metrics: c.unsummarized_metrics.clone(),
            unsummarized_sflow_vm_metrics: c.unsummarized_sflow_vm_metrics,
            summarized_metrics: c.summarized_metrics.clone(),
            write_timeout: Duration::from_secs(10),
            riemann,
            memcached,
            server_threads: c.server_threads.max(1),
            setuid_user: c.setuid.then(|| c.setuid_username.clone()),
        })
    }

    /// The built-in default: data_source "local" 127.0.0.1:8649, xml_port 8651 and
    /// interactive_port 8652 on 127.0.0.1, RRDs under [`default_rrd_rootdir`].
    pub fn builtin() -> Config {
        let lo: IpAddr = Ipv4Addr::LOCALHOST.into();
        let c = GmetadConfig {
            rrd_rootdir: default_rrd_rootdir().to_string_lossy().into_owned(),
            xml_bind: Some(lo),
            interactive_bind: Some(lo),
            data_sources: vec![DataSource {
                name: "local".into(),
                step: 15,
                addresses: vec![SourceAddr {
                    host: "127.0.0.1".into(),
                    port: 8649,
                }],
            }],
            ..GmetadConfig::default()
        };
        // An IP literal always resolves, so this cannot fail.
        let mut cfg =
            Config::from_conf(&c).unwrap_or_else(|e| unreachable!("built-in config: {e}"));
        // The built-in default runs as whoever starts it.
        cfg.setuid_user = None;
        cfg
    }

    /// Whether a peer may read the ports (loopback always may).
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.all_trusted || ip.is_loopback() || self.trusted.iter().any(|t| t.matches(ip))
    }

    /// The shortest step among sources (drives the root summary period).
    pub fn shortest_step(&self) -> u32 {
        self.sources.iter().map(|s| s.step).min().unwrap_or(15)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ganglia_proto::conf::{MemFs, gmetad};

    #[test]
    fn resolves_sources_trust_and_binds() {
        let text = "data_source \"a\" 5 127.0.0.1:9001 localhost\n\
                    data_source \"b\" no-such-host.invalid:1\n\
                    trusted_hosts 10.0.0.0/8\nxml_bind 127.0.0.1\n";
        let parsed = gmetad::parse_gmetad_str(text, "g.conf", &MemFs::new()).unwrap();
        let c = Config::from_conf(&parsed).unwrap();
        assert_eq!(c.sources.len(), 1, "b has no resolvable address");
        assert_eq!(c.sources[0].step, 5);
        assert_eq!(c.sources[0].addrs[0], "127.0.0.1:9001".parse().unwrap());
        assert_eq!(c.sources[0].addrs[1].port(), 8649);
        assert_eq!(c.xml_addr, "127.0.0.1:8651".parse().unwrap());
        assert!(c.trusts("10.1.2.3".parse().unwrap()));
        assert!(c.trusts("::1".parse().unwrap()));
        assert!(!c.trusts("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn exports_and_server_threads_resolve() {
        let text = "data_source \"a\" 127.0.0.1:9001\nriemann_server 127.0.0.1\nriemann_protocol tcp\n\
                    riemann_attributes \"env=prod\"\nmemcached_parameters \"--SERVER=127.0.0.1:11311 --POOL-MAX=4\"\n\
                    memcached_include_cluster_in_key 1\nserver_threads 6\n";
        let parsed = gmetad::parse_gmetad_str(text, "g.conf", &MemFs::new()).unwrap();
        let c = Config::from_conf(&parsed).unwrap();
        let r = c.riemann.unwrap();
        assert_eq!(r.addr, "127.0.0.1:5555".parse().unwrap());
        assert_eq!(r.transport, crate::export::riemann::Transport::Tcp);
        assert_eq!(r.attributes.as_deref(), Some("env=prod"));
        let m = c.memcached.unwrap();
        assert_eq!(m.servers, vec!["127.0.0.1:11311".parse().unwrap()]);
        assert!(m.include_cluster);
        assert_eq!(c.server_threads, 6);
        let bad = "data_source \"a\" 127.0.0.1:9001\nmemcached_parameters \"--POOL-MIN=1\"\n";
        let parsed = gmetad::parse_gmetad_str(bad, "g.conf", &MemFs::new()).unwrap();
        assert!(matches!(
            Config::from_conf(&parsed),
            Err(ConfigError::Memcached(_))
        ));
        assert_eq!(Config::builtin().server_threads, 4);
        assert!(Config::builtin().riemann.is_none() && Config::builtin().memcached.is_none());
    }

    #[test]
    fn builtin_default_is_loopback_only() {
        let c = Config::builtin();
        assert_eq!(
            c.sources[0].addrs,
            vec!["127.0.0.1:8649".parse::<SocketAddr>().unwrap()]
        );
        assert!(c.xml_addr.ip().is_loopback() && c.interactive_addr.ip().is_loopback());
        assert_eq!(c.rras.len(), 3);
    }
}
