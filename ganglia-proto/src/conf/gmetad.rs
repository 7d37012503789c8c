//! gmetad.conf.
