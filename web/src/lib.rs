//! gweb-rs: the web view of a Ganglia grid (talks to gmetad's interactive port, reads RRDs).
