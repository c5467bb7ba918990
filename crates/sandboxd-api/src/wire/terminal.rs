//! The terminal's query string and the JSON text frames of its WebSocket. Binary frames carry
//! raw terminal bytes both ways and have no schema; text frames are control messages.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Terminal sizes outside this range are refused (before the upgrade).
pub const TERMINAL_DIM_MAX: u16 = 1000;
/// Longest `cmd` accepted.
pub const TERMINAL_CMD_MAX: usize = 4096;

/// `GET .../terminal`: size and optional command line.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TerminalParams {
    /// Columns (1..=1000, default 80).
    #[param(minimum = 1, maximum = 1000)]
    pub cols: Option<u16>,
    /// Rows (1..=1000, default 24).
    #[param(minimum = 1, maximum = 1000)]
    pub rows: Option<u16>,
    /// A command line run by the shell (`<shell> -l -c <cmd>`) instead of an interactive login
    /// shell; the shell is `/bin/bash` when the image has it, else `/bin/sh`.
    pub cmd: Option<String>,
}

/// A text frame the client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TerminalClientFrame {
    /// The client's window changed size.
    Resize {
        #[schema(minimum = 1, maximum = 1000)]
        cols: u16,
        #[schema(minimum = 1, maximum = 1000)]
        rows: u16,
    },
}

/// A text frame the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TerminalServerFrame {
    /// The terminal's process ended; the server closes the socket next.
    Exit {
        /// The exit code (128 + signal number when killed by a signal).
        exit_code: i32,
    },
}
