//! dotconf syntax.
