//! The cluster state an aggregating gmond keeps: hosts keyed by source or spoof IP, and per host
//! the metadata and latest value of each metric (reference §1.7).
//!
//! Sans-IO: [`HostTable::handle`] takes `now` (epoch seconds), the datagram's source address and
//! the decoded message, and tells the caller what to do next (send a metadata request, resolve a
//! host name, answer a metadata request). Memory per metric is kept small by sharing identical
//! metadata bodies between hosts (every host's `load_one` has the same type, units, slope and
//! extra data) through [`MetaInterner`].

use super::stats::{Drop, Stats};
use ganglia_proto::format;
use ganglia_proto::xdr::{Message, Metadata, MetricId, WireValue};
use ganglia_proto::{MetricType, Slope};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

/// Bounds that keep a spoof flood from exhausting memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most hosts kept; packets creating more are dropped and counted.
    pub max_hosts: usize,
    /// Most metrics kept per host.
    pub max_metrics_per_host: usize,
    /// Longest metric or host name accepted.
    pub max_name_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_hosts: 100_000,
            max_metrics_per_host: 4096,
            max_name_len: 255,
        }
    }
}

/// A metadata body shared between every host that sent an identical one.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MetaBody {
    /// TYPE attribute (`"float"`, ...).
    pub metric_type: Box<str>,
    /// UNITS attribute.
    pub units: Box<str>,
    /// SLOPE.
    pub slope: Slope,
    /// TMAX attribute.
    pub tmax: u32,
    /// DMAX attribute.
    pub dmax: u32,
    /// Extra data in order of receipt.
    pub extra: Box<[(Box<str>, Box<str>)]>,
}

impl MetaBody {
    /// First value of an extra-data key.
    pub fn extra(&self, key: &str) -> Option<&str> {
        self.extra
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| &**v)
    }
}

impl MetricState {
    /// The metric's extra data in order of receipt, SPOOF_HOST restored.
    pub fn extra<'a>(
        &'a self,
        host: &'a HostState,
    ) -> impl DoubleEndedIterator<Item = (&'a str, &'a str)> + 'a {
        let body = self.meta.as_deref().map_or(&[][..], |m| &m.extra[..]);
        let (at, spoof) = match self.spoof_at.zip(host.spoof.as_deref()) {
            Some((at, s)) => (usize::from(at).min(body.len()), Some(("SPOOF_HOST", s))),
            None => (body.len(), None),
        };
        let pair = |(k, v): &'a (Box<str>, Box<str>)| (&**k, &**v);
        body[..at]
            .iter()
            .map(pair)
            .chain(spoof)
            .chain(body[at..].iter().map(pair))
    }
}

/// Deduplicates [`MetaBody`] values.
#[derive(Debug, Default)]
pub struct MetaInterner {
    set: HashSet<Arc<MetaBody>>,
}

impl MetaInterner {
    /// Intern `meta`. A SPOOF_HOST entry equal to the packet's own spoof string is left out of
    /// the shared body (its position is returned), so spoofed hosts with identical metadata
    /// share one body; the XML writer puts it back.
    fn intern(&mut self, meta: &Metadata<'_>, spoof: Option<&str>) -> (Arc<MetaBody>, Option<u8>) {
        let at = spoof.and_then(|sp| {
            meta.extra
                .iter()
                .position(|(k, v)| *k == "SPOOF_HOST" && *v == sp)
        });
        let body = MetaBody {
            metric_type: meta.metric_type.into(),
            units: meta.units.into(),
            slope: Slope::from_wire(meta.slope),
            tmax: meta.tmax,
            dmax: meta.dmax,
            extra: meta
                .extra
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != at)
                .map(|(_, (k, v))| ((*k).into(), (*v).into()))
                .collect(),
        };
        let at = at.and_then(|i| u8::try_from(i).ok());
        if let Some(found) = self.set.get(&body) {
            return (found.clone(), at);
        }
        let arc = Arc::new(body);
        self.set.insert(arc.clone());
        (arc, at)
    }

    /// Forget bodies no metric uses any more.
    fn sweep(&mut self) {
        self.set.retain(|a| Arc::strong_count(a) > 1);
    }

    /// Number of distinct bodies held.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether no body is held.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

/// One metric of one host.
#[derive(Debug, Default)]
pub struct MetricState {
    /// Last metadata received, shared with identical ones.
    pub meta: Option<Arc<MetaBody>>,
    /// VAL text rendered with the sender's fmt at receipt.
    pub val: String,
    /// Whether a value has been received.
    pub has_value: bool,
    /// Epoch seconds of the last value packet.
    pub value_time: u64,
    /// Epoch seconds of the last metadata packet.
    pub meta_time: u64,
    /// Epoch seconds of the last metadata request we sent for it (rate limit).
    pub requested_at: u64,
    /// Position of a SPOOF_HOST extra element left out of the shared body (see
    /// [`HostState::spoof`]).
    pub spoof_at: Option<u8>,
    /// What `val` was rendered from (numeric values only), to skip re-rendering repeats.
    pub rendered_from: Option<(u64, u64)>,
}

/// One host as the aggregator sees it.
#[derive(Debug)]
pub struct HostState {
    /// Resolved or spoofed name (the IP string until reverse DNS answers).
    pub name: String,
    /// Source or spoof IP as text.
    pub ip: String,
    /// Last `location` value.
    pub location: Option<String>,
    /// Last heartbeat value (the sender's start time).
    pub gmond_started: u64,
    /// Epoch seconds of the last packet of any kind.
    pub last_heard: u64,
    /// Metrics by wire name.
    pub metrics: HashMap<Box<str>, MetricState, ahash::RandomState>,
    /// Whether the name is a spoof name (never resolved).
    pub spoofed: bool,
    /// The spoof string (`"IP:NAME"`) that created this host, if spoofed.
    pub spoof: Option<Box<str>>,
}

/// What the caller should do after [`HostTable::handle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing further.
    None,
    /// A value arrived whose metadata we lack: send a metadata request (136) for it.
    RequestMetadata {
        /// `metric_id.host` to put in the request.
        host: String,
        /// Metric name.
        name: String,
        /// Spoof flag.
        spoof: bool,
    },
    /// Someone asked for the metadata of metric `name`: resend ours on the next tick.
    MetadataRequested {
        /// Metric name.
        name: String,
    },
}

/// The result of [`HostTable::handle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// A new non-spoofed host appeared: resolve this address and call [`HostTable::set_name`].
    pub resolve: Option<IpAddr>,
    /// What else to do.
    pub action: Action,
}

impl Outcome {
    fn with(resolve: Option<IpAddr>, action: Action) -> Outcome {
        Outcome { resolve, action }
    }
}

/// All hosts heard by this gmond.
#[derive(Debug, Default)]
pub struct HostTable {
    /// Keyed with a randomly seeded hash: keys come from the network (spoof floods).
    hosts: HashMap<String, HostState, ahash::RandomState>,
    interner: MetaInterner,
    limits: Limits,
    total_metrics: usize,
    /// Reused buffer for host keys of non-spoofed packets.
    scratch: String,
}

/// (value bits with the message id, hash of the format) of a numeric value; `None` for strings.
fn render_key(fmt: &str, v: &WireValue<'_>) -> Option<(u64, u64)> {
    let bits = match *v {
        WireValue::UShort(x) => u64::from(x),
        WireValue::Short(x) => x as u16 as u64,
        WireValue::Int(x) => x as u32 as u64,
        WireValue::UInt(x) => u64::from(x),
        WireValue::Float(x) => u64::from(x.to_bits()),
        WireValue::Double(x) => x.to_bits(),
        WireValue::Str(_) => return None,
    };
    // FNV-1a: formats are a few bytes; a collision only costs a wrong skip between two
    // formats of the same value, and the value bits must match too.
    let h = fmt.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    Some((bits ^ (u64::from(v.message_id()) << 56), h))
}

/// Seconds between metadata requests for the same metric.
const REQUEST_INTERVAL: u64 = 20;

/// Split a spoof string `"IP:NAME"` at the first ':' after the first character.
pub fn split_spoof(s: &str) -> Option<(&str, &str)> {
    let first = s.chars().next()?;
    let at = s[first.len_utf8()..].find(':')? + first.len_utf8();
    let (ip, name) = (&s[..at], &s[at + 1..]);
    (!ip.is_empty() && !name.is_empty()).then_some((ip, name))
}

impl HostTable {
    /// An empty table with the given limits.
    pub fn new(limits: Limits) -> HostTable {
        HostTable {
            limits,
            ..HostTable::default()
        }
    }

    /// Hosts by key (IP text).
    pub fn hosts(&self) -> impl Iterator<Item = &HostState> {
        self.hosts.values()
    }

    /// Number of hosts.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// Whether no host is known.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// Number of metrics over all hosts.
    pub fn metric_count(&self) -> usize {
        self.total_metrics
    }

    /// Distinct metadata bodies held.
    pub fn distinct_metadata(&self) -> usize {
        self.interner.len()
    }

    /// Host by key.
    pub fn get(&self, key: &str) -> Option<&HostState> {
        self.hosts.get(key)
    }

    /// Set a resolved name for a non-spoofed host.
    pub fn set_name(&mut self, key: &str, name: String) {
        if let Some(h) = self.hosts.get_mut(key).filter(|h| !h.spoofed) {
            h.name = name;
        }
    }

    /// Process one decoded datagram from `src` at `now`.
    pub fn handle(
        &mut self,
        now: u64,
        src: IpAddr,
        msg: &Message<'_>,
        stats: &mut Stats,
    ) -> Outcome {
        let mut resolve = None;
        let action = self.handle_inner(now, src, msg, stats, &mut resolve);
        Outcome::with(resolve, action)
    }

    fn handle_inner(
        &mut self,
        now: u64,
        src: IpAddr,
        msg: &Message<'_>,
        stats: &mut Stats,
        resolve: &mut Option<IpAddr>,
    ) -> Action {
        let id: &MetricId<'_> = msg.id();
        if id.name.is_empty() || id.name.len() > self.limits.max_name_len {
            stats.drop(Drop::BadName);
            return Action::None;
        }
        // Host identity: the UDP source address, or the spoof string's IP part.
        // The key is borrowed from the packet (spoof) or written into a reused buffer, so the
        // hot path allocates only for new hosts and metrics.
        let mut scratch = std::mem::take(&mut self.scratch);
        let (key, spoof_name): (&str, Option<&str>) = if id.spoof {
            match split_spoof(id.host) {
                Some((ip, name)) if name.len() <= self.limits.max_name_len => (ip, Some(name)),
                _ => {
                    self.scratch = scratch;
                    stats.drop(Drop::BadSpoof);
                    return Action::None;
                }
            }
        } else {
            use std::fmt::Write as _;
            scratch.clear();
            let _ = write!(scratch, "{src}");
            (scratch.as_str(), None)
        };
        let action = Action::None;
        if !self.hosts.contains_key(key) {
            if self.hosts.len() >= self.limits.max_hosts {
                self.scratch = scratch;
                stats.drop(Drop::HostCap);
                return Action::None;
            }
            let name = spoof_name.unwrap_or(key).to_owned();
            if spoof_name.is_none() {
                *resolve = Some(src);
            }
            self.hosts.insert(
                key.to_owned(),
                HostState {
                    name,
                    ip: key.to_owned(),
                    location: None,
                    gmond_started: 0,
                    last_heard: now,
                    metrics: HashMap::default(),
                    spoofed: spoof_name.is_some(),
                    spoof: spoof_name.map(|_| id.host.into()),
                },
            );
            stats.hosts_created += 1;
        }
        let host = self.hosts.get_mut(key);
        self.scratch = scratch;
        let Some(host) = host else {
            return action;
        };
        host.last_heard = now;

        // 3.7.2 replaces ':' with '_' in non-spoofed names only (sanitize_metric_name).
        let sanitized;
        let name: &str = if !id.spoof && id.name.contains(':') {
            sanitized = id.name.replace(':', "_");
            &sanitized
        } else {
            id.name
        };

        match msg {
            Message::MetadataRequest { .. } => {
                stats.requests_received += 1;
                return Action::MetadataRequested {
                    name: name.to_owned(),
                };
            }
            Message::Metadata { meta, .. } => {
                stats.metadata_received += 1;
                let own = host.spoof.as_deref().filter(|s| *s == id.host);
                let (body, spoof_at) = self.interner.intern(meta, own);
                match host.metrics.get_mut(name) {
                    Some(m) => {
                        m.meta = Some(body);
                        m.meta_time = now;
                        m.spoof_at = spoof_at;
                    }
                    None => {
                        if host.metrics.len() >= self.limits.max_metrics_per_host {
                            stats.drop(Drop::MetricCap);
                            return action;
                        }
                        host.metrics.insert(
                            name.into(),
                            MetricState {
                                meta: Some(body),
                                meta_time: now,
                                spoof_at,
                                ..Default::default()
                            },
                        );
                        self.total_metrics += 1;
                    }
                }
            }
            Message::Value { fmt, value, .. } => {
                stats.values_received += 1;
                match name {
                    "location" => {
                        if let WireValue::Str(s) = value {
                            host.location = Some((*s).to_owned());
                        }
                    }
                    "heartbeat" => {
                        host.gmond_started = match value {
                            WireValue::UInt(v) => u64::from(*v),
                            // gmetric's spoofed heartbeat is a string "0"; 3.7.2 reads garbage here.
                            WireValue::Str(s) => s.trim().parse().unwrap_or(0),
                            v => v.to_value().as_f64().map_or(0, |f| f.max(0.0) as u64),
                        };
                    }
                    _ => {}
                }
                let m = match host.metrics.get_mut(name) {
                    Some(m) => m,
                    None => {
                        if host.metrics.len() >= self.limits.max_metrics_per_host {
                            stats.drop(Drop::MetricCap);
                            return action;
                        }
                        self.total_metrics += 1;
                        host.metrics.entry(name.into()).or_default()
                    }
                };
                // Senders repeat values; render only when the value or its format changed.
                let key = render_key(fmt, value);
                if !(m.has_value && key.is_some() && key == m.rendered_from) {
                    m.val.clear();
                    format::render_into(&mut m.val, fmt, *value);
                    m.rendered_from = key;
                }
                m.has_value = true;
                m.value_time = now;
                if m.meta.is_none() && now.saturating_sub(m.requested_at) >= REQUEST_INTERVAL {
                    m.requested_at = now;
                    stats.requests_sent += 1;
                    return Action::RequestMetadata {
                        host: id.host.to_owned(),
                        name: id.name.to_owned(),
                        spoof: id.spoof,
                    };
                }
            }
        }
        action
    }

    /// Forget hosts silent for more than `host_dmax` (0 = never) and metrics whose DMAX elapsed
    /// since their last value (3.7.2 times DMAX from the last metadata packet; values count here).
    pub fn cleanup(&mut self, now: u64, host_dmax: u64, stats: &mut Stats) {
        let before_hosts = self.hosts.len();
        self.hosts
            .retain(|_, h| host_dmax == 0 || now.saturating_sub(h.last_heard) <= host_dmax);
        stats.hosts_expired += (before_hosts - self.hosts.len()) as u64;
        let mut total = 0;
        for h in self.hosts.values_mut() {
            let before = h.metrics.len();
            h.metrics.retain(|_, m| match &m.meta {
                Some(meta) if meta.dmax != 0 => {
                    now.saturating_sub(m.value_time.max(m.meta_time)) <= u64::from(meta.dmax)
                }
                _ => true,
            });
            stats.metrics_expired += (before - h.metrics.len()) as u64;
            total += h.metrics.len();
        }
        self.total_metrics = total;
        self.interner.sweep();
    }
}

/// Whether a metric type string names a numeric type (for value thresholds and summaries).
pub fn is_numeric_type(t: &str) -> bool {
    MetricType::parse(t).is_some_and(MetricType::is_numeric)
}

#[cfg(test)]
mod tests;
