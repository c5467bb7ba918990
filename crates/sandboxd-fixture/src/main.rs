//! sandboxd-fixture: the test app that integration tests and the benchmark
//! run behind the preview proxy, inside a bare busybox container.
//!
//! Rule: `sandboxd-fixture PORT [PORT...]` serves the same endpoints (see
//! `routes`) on `0.0.0.0:PORT` for every PORT, one thread per connection,
//! HTTP/1.1 with keep-alive. Once every port is bound it prints
//! `fixture listening on :PORT` per port; it exits 2 with usage on bad
//! arguments and 1 if a port cannot be bound. It uses no crates, so that
//! `sandboxd-testkit`'s build script can compile it into a static executable with a
//! single `rustc` call.

mod conn;
mod http;
mod routes;
mod ws;

use std::net::TcpListener;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

const USAGE: &str = "usage: sandboxd-fixture PORT [PORT...]
  Serves the fixture endpoints on 0.0.0.0:PORT for each PORT (0 = any free port):
  /  /bytes?n=N  /echo  /headers  /sse?n=N&interval_ms=M  /slow?ms=M  /ws  /status?code=N";

/// Connection threads only hold small frames; their buffers live on the heap.
const CONN_STACK: usize = 256 * 1024;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if matches!(args.as_slice(), [flag] if flag == "-h" || flag == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let ports = match parse_ports(&args) {
        Ok(ports) => ports,
        Err(msg) => {
            eprintln!("sandboxd-fixture: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut bound = Vec::new();
    for port in ports {
        let listener = TcpListener::bind(("0.0.0.0", port));
        match listener.and_then(|l| Ok((l.local_addr()?.port(), l))) {
            Ok(pair) => bound.push(pair),
            Err(err) => {
                eprintln!("sandboxd-fixture: cannot listen on 0.0.0.0:{port}: {err}");
                return ExitCode::from(1);
            }
        }
    }
    let mut acceptors = Vec::new();
    for (port, listener) in bound {
        println!("fixture listening on :{port}");
        match thread::Builder::new().spawn(move || accept_loop(listener, port)) {
            Ok(handle) => acceptors.push(handle),
            Err(err) => {
                eprintln!("sandboxd-fixture: cannot start the thread for :{port}: {err}");
                return ExitCode::from(1);
            }
        }
    }
    for handle in acceptors {
        // Accept loops never return; a panic in one is already reported.
        let _ = handle.join();
    }
    ExitCode::SUCCESS
}

fn parse_ports(args: &[String]) -> Result<Vec<u16>, String> {
    if args.is_empty() {
        return Err("no PORT given".into());
    }
    args.iter()
        .map(|arg| arg.parse::<u16>().map_err(|_| format!("bad port {arg:?}")))
        .collect()
}

fn accept_loop(listener: TcpListener, port: u16) {
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                let spawned = thread::Builder::new()
                    .stack_size(CONN_STACK)
                    .spawn(move || conn::serve(stream, port));
                if let Err(err) = spawned {
                    // The stream was moved into the failed closure and is closed.
                    eprintln!("sandboxd-fixture: cannot start a connection thread: {err}");
                }
            }
            Err(err) => {
                // E.g. out of file descriptors: back off instead of spinning.
                eprintln!("sandboxd-fixture: accept on :{port}: {err}");
                thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_ports;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ports_are_parsed_or_rejected() {
        assert_eq!(
            parse_ports(&strings(&["3000", "8080"])),
            Ok(vec![3000, 8080])
        );
        assert!(parse_ports(&[]).is_err());
        assert!(parse_ports(&strings(&["3000", "x"])).is_err());
        assert!(parse_ports(&strings(&["70000"])).is_err());
    }
}
