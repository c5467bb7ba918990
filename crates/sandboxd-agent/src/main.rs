//! sandboxd-agent: runs inside every sandbox as the sandbox user, started and
//! supervised by sandboxd-init, and serves E2B's envd protocol on TCP 49983.
//!
//! Rule: every request except `GET /health` carries the sandbox's access
//! token; everything the agent touches, it touches as the sandbox user from
//! inside the sandbox's own mount namespace.

fn main() {
    // Placeholder while the server lands; see the crate description.
    eprintln!("sandboxd-agent: not implemented yet");
    std::process::exit(2);
}
