//! Host metric collection.
