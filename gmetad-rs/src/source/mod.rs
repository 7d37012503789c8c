//! Data sources: fetching XML from gmonds and gmetads, and turning it into cluster snapshots.

pub mod fetch;
