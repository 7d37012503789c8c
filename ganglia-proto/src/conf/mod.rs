//! Configuration file parsers: gmond.conf (libconfuse syntax) and gmetad.conf (dotconf syntax).
