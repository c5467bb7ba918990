//! Library half of the sandboxd binary: the command line ([`cli`]), the `serve` wiring
//! ([`serve`], also started in-process by `sandboxd-testkit`) and [`uninstall`]. Image building
//! lives in `sandboxd-image`, test helpers and the fixture in `sandboxd-testkit` (a
//! dev-dependency only), the bench in `sandboxd-bench`.

pub mod admin_token;
mod api_listener;
pub mod cli;
pub mod fdlimit;
pub mod serve;
pub mod uninstall;
pub mod workspaces;
