//! The built-in metric catalogue and host sampler the agent uses by default.

use crate::core::packets::MetricDef;
use crate::core::schedule::Sampler;
use std::sync::Arc;

pub(super) fn catalog() -> Vec<Arc<MetricDef>> {
    crate::collect::catalog()
}

pub(super) fn default_sampler() -> Box<dyn Sampler + Send> {
    Box::new(crate::collect::linux::HostMetrics::new(
        crate::collect::linux::Roots::default(),
    ))
}
