//! load client (todo)
