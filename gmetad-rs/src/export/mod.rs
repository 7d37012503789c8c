//! Exports to other stores: Graphite/carbon.

pub mod carbon;
