//! Ganglia XML: model, writer, reader.
