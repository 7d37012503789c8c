//! Host metrics: the built-in definitions ([`defs`]), the default collection groups
//! ([`groups`]) and the Linux collectors ([`linux`]).

pub mod defs;
pub mod groups;
pub mod linux;

use crate::core::packets::MetricDef;
use std::sync::Arc;

/// Every built-in metric as a definition the scheduler can send.
pub fn catalog() -> Vec<Arc<MetricDef>> {
    defs::METRICS
        .iter()
        .map(|d| {
            Arc::new(MetricDef {
                name: d.name.to_owned(),
                metric_type: d.metric_type,
                units: d.units.to_owned(),
                slope: d.slope,
                tmax: d.tmax,
                dmax: 0,
                fmt: d.fmt.to_owned(),
                desc: d.desc.to_owned(),
                groups: vec![d.group.to_owned()],
                spoof_name: None,
            })
        })
        .collect()
}
