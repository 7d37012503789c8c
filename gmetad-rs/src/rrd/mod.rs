//! RRD storage.
