//! Library half of the sandboxd binary: image building and shared helpers for the CLI, tests and bench.

pub mod bench;
pub mod fixture;
pub mod image;
pub mod serve;
pub mod testkit;
pub mod uninstall;
