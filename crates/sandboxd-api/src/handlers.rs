//! Request handlers, grouped by resource. Each one only parses, validates and delegates.

pub mod health;
pub mod sandboxes;
