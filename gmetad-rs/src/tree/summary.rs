//! HOSTS/METRICS summaries with gmetad 3.7.2's rules (reference §3.4, §3.5): live hosts only,
//! numeric types only, DMAX-expired metrics skipped, TYPE always "double", SUM formatted "%.f"
//! for integer types and with the most decimals seen for float/double. EXTRA_DATA of METRICS is
//! the union of the contributing metrics' extra elements in first-seen order (a NAME/VAL pair
//! once, compared case-insensitively; SPOOF_HOST never), as Debian's gmetad 3.7.2 writes it
//! (process_xml.c startElement_EXTRA_ELEMENT) for the summaries of clusters it polls; summaries
//! of summaries (the root, child grids) have none, as 3.7.2's have none.

use ganglia_proto::MetricType;
use ganglia_proto::xml::{Extra, Host, SmolStr, Summary, SummaryMetric, no_extra};
use std::collections::HashMap;
use std::sync::Arc;

/// Whether a host is up: TN < 4·TMAX, or |LOCALTIME − REPORTED| < 60 when TMAX is 0 or the
/// producer is older than 2.5.
pub fn host_alive(h: &Host, localtime: u64, old: bool) -> bool {
    if h.tmax == 0 || old {
        localtime.abs_diff(h.reported) < 60
    } else {
        h.tn < 4 * h.tmax
    }
}

/// Rules that exclude metrics from summaries.
#[derive(Debug, Clone, Default)]
pub struct SummaryRules {
    /// Name prefixes never summarised (`unsummarized_metrics`).
    pub unsummarized: Vec<String>,
    /// Skip sFlow VM metrics (names whose last '.' is followed by 'v').
    pub skip_sflow_vm: bool,
}

impl SummaryRules {
    /// Whether `name` is summarised.
    pub fn includes(&self, name: &str) -> bool {
        if self
            .unsummarized
            .iter()
            .any(|p| name.starts_with(p.as_str()))
        {
            return false;
        }
        !(self.skip_sflow_vm
            && name
                .rfind('.')
                .is_some_and(|i| name[i + 1..].starts_with('v')))
    }
}

#[derive(Debug, Clone)]
struct Acc {
    sum: f64,
    num: u64,
    integer: bool,
    precision: usize,
    units: SmolStr,
    slope: SmolStr,
    extra: Vec<(SmolStr, SmolStr)>,
    /// The last list merged into `extra` (hosts share one list per metric, so most merges
    /// are a pointer comparison).
    merged: Option<Extra>,
}

/// Accumulates a summary over hosts and other summaries.
#[derive(Debug, Default, Clone)]
pub struct Summer {
    up: u64,
    down: u64,
    /// Metrics in first-seen order, with an index by name.
    accs: Vec<(SmolStr, Acc)>,
    index: HashMap<SmolStr, usize>,
    /// Where the next metric probably is: hosts list their metrics in the same order, so the
    /// one after the last match usually is the next name (no hashing).
    hint: usize,
}

fn decimals(v: &str) -> usize {
    v.trim()
        .split_once('.')
        .map_or(0, |(_, d)| d.bytes().take_while(u8::is_ascii_digit).count())
}

impl Summer {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        name: &SmolStr,
        value: f64,
        integer: bool,
        precision: usize,
        units: &SmolStr,
        slope: &SmolStr,
        num: u64,
        extra: Option<&Extra>,
    ) {
        let i = match self.accs.get(self.hint) {
            Some((n, _)) if n == name => self.hint,
            _ => match self.index.get(name.as_str()) {
                Some(&i) => i,
                None => {
                    self.index.insert(name.clone(), self.accs.len());
                    self.accs.push((
                        name.clone(),
                        Acc {
                            sum: 0.0,
                            num: 0,
                            integer,
                            precision: 0,
                            units: units.clone(),
                            slope: slope.clone(),
                            extra: Vec::new(),
                            merged: None,
                        },
                    ));
                    self.accs.len() - 1
                }
            },
        };
        self.hint = i + 1;
        let acc = &mut self.accs[i].1;
        let extra = match extra {
            Some(e) if !acc.merged.as_ref().is_some_and(|m| Arc::ptr_eq(m, e)) => {
                acc.merged = Some(e.clone());
                &e[..]
            }
            _ => &[],
        };
        for (k, v) in extra {
            // Hosts usually repeat the same pairs exactly: compare those first.
            if acc.extra.iter().any(|(a, b)| a == k && b == v)
                || k.eq_ignore_ascii_case("SPOOF_HOST")
                || acc
                    .extra
                    .iter()
                    .any(|(a, b)| a.eq_ignore_ascii_case(k) && b.eq_ignore_ascii_case(v))
            {
                continue;
            }
            acc.extra.push((k.clone(), v.clone()));
        }
        acc.sum += value;
        acc.num += num;
        acc.precision = acc.precision.max(precision);
        acc.integer &= integer;
    }

    /// Add one host of a cluster whose clock says `localtime`.
    pub fn add_host(&mut self, h: &Host, localtime: u64, old: bool, rules: &SummaryRules) {
        if !host_alive(h, localtime, old) {
            self.down += 1;
            return;
        }
        self.up += 1;
        for m in &h.metrics {
            let Some(t) = MetricType::parse(&m.metric_type).filter(|t| t.is_numeric()) else {
                continue;
            };
            if super::expired(m) {
                continue;
            }
            if !rules.includes(&m.name) {
                continue;
            }
            let Ok(v) = m.val.trim().parse::<f64>() else {
                continue;
            };
            self.add(
                &m.name,
                v,
                t.is_integer(),
                decimals(&m.val),
                &m.units,
                &m.slope,
                1,
                Some(&m.extra),
            );
        }
    }

    /// Add an existing summary (a child grid's HOSTS/METRICS, or a cluster's computed one).
    pub fn add_summary(&mut self, s: &Summary, rules: &SummaryRules) {
        self.up += s.hosts_up;
        self.down += s.hosts_down;
        for m in &s.metrics {
            if !rules.includes(&m.name) {
                continue;
            }
            let Ok(v) = m.sum.trim().parse::<f64>() else {
                continue;
            };
            self.add(
                &m.name,
                v,
                decimals(&m.sum) == 0,
                decimals(&m.sum),
                &m.units,
                &m.slope,
                m.num,
                None,
            );
        }
    }

    /// Count hosts without metrics (a dead source's last known hosts).
    pub fn add_hosts(&mut self, up: u64, down: u64) {
        self.up += up;
        self.down += down;
    }

    /// The finished summary, metrics in first-seen order.
    pub fn finish(&self) -> Summary {
        Summary {
            hosts_up: self.up,
            hosts_down: self.down,
            metrics: self
                .accs
                .iter()
                .map(|(n, a)| SummaryMetric {
                    name: n.clone(),
                    sum: if a.integer {
                        format!("{:.0}", a.sum).into()
                    } else {
                        format!("{:.*}", a.precision, a.sum).into()
                    },
                    num: a.num,
                    metric_type: SmolStr::new_inline("double"),
                    units: a.units.clone(),
                    slope: a.slope.clone(),
                    source: SmolStr::new_inline("gmond"),
                    extra: match &a.extra[..] {
                        [] => no_extra(),
                        e => e.into(),
                    },
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ganglia_proto::xml::Metric;

    fn metric(name: &str, val: &str, ty: &str) -> Metric {
        Metric {
            name: name.into(),
            val: val.into(),
            metric_type: ty.into(),
            units: "u".into(),
            tn: 1,
            tmax: 60,
            dmax: 0,
            slope: "both".into(),
            source: "gmond".into(),
            extra: vec![
                ("GROUP".into(), "g".into()),
                ("SPOOF_HOST".into(), "1.2.3.4:x".into()),
            ]
            .into(),
        }
    }

    fn host(tn: u64, metrics: Vec<Metric>) -> Host {
        Host {
            name: "h".into(),
            ip: "1".into(),
            reported: 1000 - tn,
            tn,
            tmax: 20,
            metrics,
            ..Host::default()
        }
    }

    #[test]
    fn sums_over_live_hosts_with_gmetad_formatting() {
        let mut s = Summer::default();
        let rules = SummaryRules::default();
        s.add_host(
            &host(
                5,
                vec![
                    metric("load_one", "0.50", "float"),
                    metric("cpu_num", "2", "uint16"),
                    metric("os", "Linux", "string"),
                ],
            ),
            1000,
            false,
            &rules,
        );
        s.add_host(
            &host(
                5,
                vec![
                    metric("load_one", "1.255", "float"),
                    metric("cpu_num", "4", "uint16"),
                ],
            ),
            1000,
            false,
            &rules,
        );
        s.add_host(
            &host(100, vec![metric("load_one", "9", "float")]),
            1000,
            false,
            &rules,
        ); // down: TN ≥ 4·TMAX
        let out = s.finish();
        assert_eq!((out.hosts_up, out.hosts_down), (2, 1));
        let load = &out.metrics[0];
        assert_eq!(
            (
                load.name.as_str(),
                load.sum.as_str(),
                load.num,
                load.metric_type.as_str()
            ),
            ("load_one", "1.755", 2, "double")
        );
        assert_eq!(out.metrics[1].sum, "6");
        assert_eq!(out.metrics.len(), 2, "strings are not summarised");
        assert_eq!(
            &load.extra[..],
            [("GROUP".into(), "g".into())],
            "the hosts' extras once each, without SPOOF_HOST, as Debian's gmetad writes them"
        );
    }

    #[test]
    fn dmax_expired_unsummarized_and_old_rules() {
        let mut m = metric("gone", "5", "uint32");
        m.dmax = 10;
        m.tn = 20;
        let rules = SummaryRules {
            unsummarized: vec!["skip_".into()],
            skip_sflow_vm: true,
        };
        let mut s = Summer::default();
        s.add_host(
            &host(
                1,
                vec![
                    m,
                    metric("skip_me", "1", "uint32"),
                    metric("vm.1.vcpu", "1", "uint32"),
                    metric("ok", "1", "uint32"),
                ],
            ),
            1000,
            false,
            &rules,
        );
        assert_eq!(
            s.finish()
                .metrics
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>(),
            ["ok"]
        );
        let mut h = host(500, vec![]);
        h.tmax = 0;
        h.reported = 990;
        assert!(
            host_alive(&h, 1000, false),
            "TMAX 0: by LOCALTIME - REPORTED"
        );
        assert!(!host_alive(&h, 1100, false));
    }

    #[test]
    fn summaries_of_summaries() {
        let mut inner = Summer::default();
        inner.add_host(
            &host(1, vec![metric("load_one", "0.5", "float")]),
            1000,
            false,
            &SummaryRules::default(),
        );
        let mut outer = Summer::default();
        outer.add_summary(&inner.finish(), &SummaryRules::default());
        outer.add_summary(&inner.finish(), &SummaryRules::default());
        let out = outer.finish();
        assert!(
            out.metrics[0].extra.is_empty(),
            "no extras in summaries of summaries (3.7.2's root summary has none)"
        );
        assert_eq!(
            (
                out.hosts_up,
                out.metrics[0].sum.as_str(),
                out.metrics[0].num
            ),
            (2, "1.0", 2)
        );
    }
}
