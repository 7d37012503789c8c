//! Safe rendering of printf-style formats (filled in below).
