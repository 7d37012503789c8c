//! Application metrics for embedders: gauges and counters cheap enough for packet hot paths
//! (one relaxed atomic operation), and pull-time collectors called once per collection tick.

use crate::core::packets::MetricDef;
use crate::core::schedule::{GroupMetricSpec, GroupSpec};
use ganglia_proto::{MetricType, Slope, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Describes an application metric: its metadata and its collection schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSpec {
    /// The metric's definition as sent in metadata.
    pub def: MetricDef,
    /// TITLE (default: the name).
    pub title: Option<String>,
    /// Seconds between collections.
    pub collect_every: u64,
    /// Maximum seconds between sends.
    pub time_threshold: u64,
    /// Send early when the value moves by this much (< 0: disabled).
    pub value_threshold: f64,
}

impl MetricSpec {
    /// A float gauge with slope "both", collected every 15 s and sent at least every 60 s.
    pub fn new(name: &str) -> MetricSpec {
        MetricSpec {
            def: MetricDef {
                name: name.to_owned(),
                metric_type: MetricType::Float,
                units: String::new(),
                slope: Slope::Both,
                tmax: 60,
                dmax: 0,
                fmt: "%.2f".to_owned(),
                desc: String::new(),
                groups: Vec::new(),
                spoof_name: None,
            },
            title: None,
            collect_every: 15,
            time_threshold: 60,
            value_threshold: -1.0,
        }
    }

    /// Units text.
    pub fn units(mut self, u: &str) -> Self {
        self.def.units = u.to_owned();
        self
    }

    /// Description (DESC).
    pub fn desc(mut self, d: &str) -> Self {
        self.def.desc = d.to_owned();
        self
    }

    /// Title (TITLE).
    pub fn title(mut self, t: &str) -> Self {
        self.title = Some(t.to_owned());
        self
    }

    /// Add a GROUP.
    pub fn group(mut self, g: &str) -> Self {
        self.def.groups.push(g.to_owned());
        self
    }

    /// Slope.
    pub fn slope(mut self, s: Slope) -> Self {
        self.def.slope = s;
        self
    }

    /// Declared type and the matching default format.
    pub fn metric_type(mut self, t: MetricType) -> Self {
        self.def.metric_type = t;
        self.def.fmt = match t {
            MetricType::String => "%s",
            MetricType::Float | MetricType::Double => "%.2f",
            MetricType::Int8 | MetricType::Int16 | MetricType::Int32 => "%d",
            _ => "%u",
        }
        .to_owned();
        self
    }

    /// printf-style format receivers use.
    pub fn fmt(mut self, f: &str) -> Self {
        self.def.fmt = f.to_owned();
        self
    }

    /// Collection period and maximum send interval, in seconds. TMAX follows the send interval.
    pub fn every(mut self, collect_every: u64, time_threshold: u64) -> Self {
        self.collect_every = collect_every.max(1);
        self.time_threshold = time_threshold.max(1);
        self.def.tmax = u32::try_from(time_threshold).unwrap_or(u32::MAX);
        self
    }

    /// Send early when the value moves by at least `t`.
    pub fn value_threshold(mut self, t: f64) -> Self {
        self.value_threshold = t;
        self
    }

    /// Seconds after which receivers delete the metric if not refreshed.
    pub fn dmax(mut self, d: u32) -> Self {
        self.def.dmax = d;
        self
    }
}

/// A float gauge. Cloning shares the same cell.
#[derive(Debug, Clone)]
pub struct Gauge(Arc<AtomicU64>);

impl Gauge {
    /// Set the value (one relaxed store).
    pub fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }

    /// Current value.
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

/// A monotonically increasing count, reported as a per-second rate computed by the agent at
/// each collection (users of 3.7 asked for rates done by the agent rather than RRD COUNTERs).
#[derive(Debug, Clone)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Add `n` (one relaxed fetch_add).
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Add one.
    pub fn inc(&self) {
        self.add(1);
    }

    /// Total so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Values a collector reports for one tick.
#[derive(Debug, Default)]
pub struct Samples {
    values: HashMap<String, Value>,
}

impl Samples {
    /// Report `name` = `v`.
    pub fn set(&mut self, name: &str, v: Value) {
        self.values.insert(name.to_owned(), v);
    }

    /// Report a float.
    pub fn set_f64(&mut self, name: &str, v: f64) {
        self.set(name, Value::Float(v as f32));
    }
}

/// A pull-time collector: called once per collection tick that needs one of its metrics.
pub type CollectorFn = Box<dyn FnMut(&mut Samples) + Send>;

enum Source {
    Gauge(Gauge),
    Counter {
        c: Counter,
        last: Option<(u64, u64)>,
        rate: f64,
    },
    Collected,
}

struct Entry {
    spec: MetricSpec,
    source: Source,
}

#[derive(Default)]
struct Inner {
    entries: Vec<Entry>,
    collectors: Vec<CollectorFn>,
    collected: Samples,
    collected_at: Option<u64>,
    /// Bumped on every registration so a running agent rebuilds its schedule.
    generation: u64,
}

/// Application metrics shared between the embedding program and its agent.
#[derive(Clone, Default)]
pub struct Registry {
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("generation", &self.generation())
            .finish()
    }
}

/// Registration problems.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// A metric of that name is already registered.
    #[error("metric {0:?} is already registered")]
    Duplicate(String),
    /// Empty name, or one with characters Ganglia cannot carry.
    #[error("invalid metric name {0:?}")]
    InvalidName(String),
}

fn check_name(name: &str) -> Result<(), RegisterError> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'/' | b'"' | b':'));
    if ok {
        Ok(())
    } else {
        Err(RegisterError::InvalidName(name.to_owned()))
    }
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panicking collector must not take the agent down: keep using the data.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn add(&self, spec: MetricSpec, source: Source) -> Result<(), RegisterError> {
        check_name(&spec.def.name)?;
        let mut inner = self.lock();
        if inner
            .entries
            .iter()
            .any(|e| e.spec.def.name == spec.def.name)
        {
            return Err(RegisterError::Duplicate(spec.def.name));
        }
        inner.entries.push(Entry { spec, source });
        inner.generation += 1;
        Ok(())
    }

    /// Register a gauge.
    pub fn gauge(&self, spec: MetricSpec) -> Result<Gauge, RegisterError> {
        let g = Gauge(Arc::new(AtomicU64::new(0f64.to_bits())));
        self.add(spec, Source::Gauge(g.clone()))?;
        Ok(g)
    }

    /// Register a counter, reported as a per-second rate.
    pub fn counter(&self, spec: MetricSpec) -> Result<Counter, RegisterError> {
        let c = Counter(Arc::new(AtomicU64::new(0)));
        self.add(
            spec,
            Source::Counter {
                c: c.clone(),
                last: None,
                rate: 0.0,
            },
        )?;
        Ok(c)
    }

    /// Register a collector producing `specs`' metrics at each tick.
    pub fn collector(&self, specs: Vec<MetricSpec>, f: CollectorFn) -> Result<(), RegisterError> {
        for s in specs {
            self.add(s, Source::Collected)?;
        }
        self.lock().collectors.push(f);
        Ok(())
    }

    /// Changes whenever a metric is registered.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Definitions and one collection group per metric, for the scheduler.
    pub fn schedule(&self) -> (Vec<Arc<MetricDef>>, Vec<GroupSpec>) {
        let inner = self.lock();
        let defs = inner
            .entries
            .iter()
            .map(|e| Arc::new(e.spec.def.clone()))
            .collect();
        let groups = inner
            .entries
            .iter()
            .map(|e| GroupSpec {
                collect_once: false,
                collect_every: e.spec.collect_every,
                time_threshold: e.spec.time_threshold,
                metrics: vec![GroupMetricSpec {
                    name: Some(e.spec.def.name.clone()),
                    name_match: None,
                    value_threshold: e.spec.value_threshold,
                    title: e.spec.title.clone(),
                }],
            })
            .collect();
        (defs, groups)
    }

    /// Current value of a registered metric at `now` (epoch seconds), or `None` if `name` is
    /// not registered here or a collector did not report it.
    pub fn sample(&self, name: &str, now: u64) -> Option<Value> {
        let mut inner = self.lock();
        let idx = inner.entries.iter().position(|e| e.spec.def.name == name)?;
        if matches!(inner.entries[idx].source, Source::Collected) && inner.collected_at != Some(now)
        {
            let mut samples = Samples::default();
            let mut collectors = std::mem::take(&mut inner.collectors);
            drop(inner);
            for c in &mut collectors {
                c(&mut samples);
            }
            inner = self.lock();
            collectors.append(&mut inner.collectors);
            inner.collectors = collectors;
            inner.collected = samples;
            inner.collected_at = Some(now);
        }
        let Inner {
            entries, collected, ..
        } = &mut *inner;
        let e = &mut entries[idx];
        let ty = e.spec.def.metric_type;
        match &mut e.source {
            Source::Gauge(g) => Some(typed(ty, g.get())),
            Source::Counter { c, last, rate } => {
                let total = c.get();
                if let Some((t0, v0)) = *last {
                    if now > t0 {
                        *rate = total.saturating_sub(v0) as f64 / (now - t0) as f64;
                        *last = Some((now, total));
                    }
                } else {
                    *last = Some((now, total));
                }
                Some(typed(ty, *rate))
            }
            Source::Collected => collected.values.get(name).cloned(),
        }
    }
}

/// Convert a float into the declared type's value.
fn typed(t: MetricType, v: f64) -> Value {
    match t {
        MetricType::Double => Value::Double(v),
        MetricType::UInt8 | MetricType::UInt16 | MetricType::UInt32 | MetricType::Timestamp => {
            Value::UInt(v.clamp(0.0, f64::from(u32::MAX)) as u32)
        }
        MetricType::Int8 | MetricType::Int16 | MetricType::Int32 => {
            Value::Int(v.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32)
        }
        MetricType::String => Value::Str(v.to_string()),
        MetricType::Float => Value::Float(v as f32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_counters_and_collectors() {
        let r = Registry::default();
        let g = r
            .gauge(MetricSpec::new("relay_rooms").metric_type(MetricType::UInt32))
            .unwrap();
        let c = r.counter(MetricSpec::new("relay_rx_pkts")).unwrap();
        r.collector(
            vec![MetricSpec::new("relay_jitter_ms")],
            Box::new(|s: &mut Samples| s.set_f64("relay_jitter_ms", 3.5)),
        )
        .unwrap();
        assert_eq!(
            r.gauge(MetricSpec::new("relay_rooms")).unwrap_err(),
            RegisterError::Duplicate("relay_rooms".into())
        );
        assert!(matches!(
            r.gauge(MetricSpec::new("a/b")),
            Err(RegisterError::InvalidName(_))
        ));
        g.set(7.0);
        assert_eq!(r.sample("relay_rooms", 100), Some(Value::UInt(7)));
        c.add(100);
        assert_eq!(
            r.sample("relay_rx_pkts", 100),
            Some(Value::Float(0.0)),
            "first sample: no rate yet"
        );
        c.add(300);
        assert_eq!(r.sample("relay_rx_pkts", 110), Some(Value::Float(30.0)));
        assert_eq!(r.sample("relay_jitter_ms", 110), Some(Value::Float(3.5)));
        assert_eq!(r.sample("unknown", 110), None);
        let (defs, groups) = r.schedule();
        assert_eq!((defs.len(), groups.len()), (3, 3));
    }

    #[test]
    fn hot_path_updates_from_many_threads() {
        let r = Registry::default();
        let c = r.counter(MetricSpec::new("pkts")).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || (0..10_000).for_each(|_| c.inc()))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(c.get(), 40_000);
    }
}
