//! Rule: everything the recorder knows about processes comes from `/proc`
//! as seen from inside the container, and whatever it may not read is
//! skipped, never fatal.
//!
//! - Listening sockets: the inodes of state `0A` (LISTEN) lines of
//!   `/proc/net/tcp` (required) and `/proc/net/tcp6` (absent without IPv6).
//! - A process listens when one of its `/proc/PID/fd/*` links reads
//!   `socket:[INODE]` for such an inode; a pid whose fd directory cannot be
//!   read (another user's, or gone) does not listen.
//! - ppid and pgid: fields 4 and 5 of `/proc/PID/stat`.
//! - Which program a process runs: the `/proc/PID/exe` link.
//! - What to relaunch: argv from `/proc/PID/cmdline`, the environment from
//!   `/proc/PID/environ` (both NUL-separated), the working directory from
//!   the `/proc/PID/cwd` link. An empty cmdline (zombie) means nothing to
//!   record. The relaunch file holds UTF-8 only, so an argv or cwd that is
//!   not UTF-8 cannot be recorded; environment entries that are not UTF-8
//!   `KEY=VALUE` are dropped (the relaunch reader would reject them).

use std::collections::{BTreeMap, HashSet};
use std::ffi::OsStr;
use std::io::ErrorKind;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::select::Proc;
use crate::log::log;
use crate::relaunch::Entry;

const TCP_TABLES: [(&str, bool); 2] = [("/proc/net/tcp", true), ("/proc/net/tcp6", false)];
const TCP_LISTEN: &str = "0A";

/// Inodes of every listening TCP socket in the network namespace.
pub fn listening_inodes() -> Result<HashSet<u64>, String> {
    let mut inodes = HashSet::new();
    for (path, required) in TCP_TABLES {
        match std::fs::read_to_string(path) {
            Ok(text) => inodes.extend(text.lines().filter_map(listen_inode)),
            Err(err) if !required && err.kind() == ErrorKind::NotFound => {}
            Err(err) => return Err(format!("cannot read {path}: {err}")),
        }
    }
    Ok(inodes)
}

/// The inode of a LISTEN line of `/proc/net/tcp{,6}`:
/// `sl local rem st tx:rx tr:when retrnsmt uid timeout inode …`.
fn listen_inode(line: &str) -> Option<u64> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let slot = fields.first()?.strip_suffix(':')?;
    if !slot.bytes().all(|b| b.is_ascii_hexdigit()) || fields.get(3) != Some(&TCP_LISTEN) {
        return None;
    }
    fields.get(9)?.parse().ok().filter(|&inode| inode != 0)
}

/// The inode named by an fd link such as `socket:[12345]`.
fn socket_inode(link: &OsStr) -> Option<u64> {
    let inner = link
        .as_bytes()
        .strip_prefix(b"socket:[")?
        .strip_suffix(b"]")?;
    std::str::from_utf8(inner).ok()?.parse().ok()
}

/// `(ppid, pgid)` from a `/proc/PID/stat` line: `PID (COMM) STATE PPID PGID
/// …`, where COMM may itself contain spaces and parentheses.
fn stat_ids(stat: &str) -> Option<(i32, i32)> {
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace().skip(1);
    Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
}

/// Every process whose stat is readable; those in `ignore` never listen.
pub fn process_table(
    listening: &HashSet<u64>,
    ignore: &[i32],
) -> Result<BTreeMap<i32, Proc>, String> {
    let entries = std::fs::read_dir("/proc").map_err(|err| format!("cannot list /proc: {err}"))?;
    let pids = entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok());
    let mut table = BTreeMap::new();
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"));
        let Some((ppid, pgid)) = stat.ok().as_deref().and_then(stat_ids) else {
            continue; // exited meanwhile
        };
        let listens = !ignore.contains(&pid) && holds_any(pid, listening);
        table.insert(
            pid,
            Proc {
                ppid,
                pgid,
                listens,
            },
        );
    }
    Ok(table)
}

/// Pids whose `/proc/PID/exe` link is `program` (unreadable ones are not).
pub fn pids_running(program: &Path) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == program)
        })
        .collect()
}

/// Whether one of `pid`'s open files is one of the `sockets`.
fn holds_any(pid: i32, sockets: &HashSet<u64>) -> bool {
    if sockets.is_empty() {
        return false;
    }
    let dir = format!("/proc/{pid}/fd");
    let Ok(fds) = std::fs::read_dir(&dir) else {
        return false; // EACCES (not ours) or ENOENT (exited)
    };
    fds.flatten().any(|fd| {
        let link = std::fs::read_link(fd.path());
        link.ok()
            .and_then(|target| socket_inode(target.as_os_str()))
            .is_some_and(|inode| sockets.contains(&inode))
    })
}

/// NUL-separated fields of `cmdline`/`environ`; the final terminator ends
/// the last field rather than starting an empty one.
fn nul_fields(bytes: &[u8]) -> Vec<&[u8]> {
    if bytes.is_empty() {
        return Vec::new();
    }
    let bytes = bytes.strip_suffix(b"\0").unwrap_or(bytes);
    bytes.split(|&b| b == 0).collect()
}

/// `KEY=VALUE` with a non-empty key, as the relaunch reader requires.
fn env_pair(field: &[u8]) -> Option<(String, String)> {
    let (key, value) = std::str::from_utf8(field).ok()?.split_once('=')?;
    (!key.is_empty()).then(|| (key.to_string(), value.to_string()))
}

/// How to start `pid` again; `Ok(None)` if it is gone or a zombie.
pub fn entry(pid: i32) -> Result<Option<Entry>, String> {
    let read = |what: &str| std::fs::read(format!("/proc/{pid}/{what}"));
    let cmdline = match read("cmdline") {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(format!("cannot read its cmdline: {err}")),
    };
    let argv = nul_fields(&cmdline)
        .into_iter()
        .map(|arg| std::str::from_utf8(arg).map(str::to_string))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| "its argv is not UTF-8".to_string())?;
    match argv.first() {
        None => return Ok(None),
        Some(program) if program.is_empty() => return Err("its argv[0] is empty".into()),
        Some(_) => {}
    }
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"))
        .map_err(|err| format!("cannot read its cwd: {err}"))?;
    if cwd.to_str().is_none() {
        return Err(format!("its cwd {} is not UTF-8", cwd.display()));
    }
    let environ = read("environ").map_err(|err| format!("cannot read its environ: {err}"))?;
    let fields = nul_fields(&environ);
    let env: Vec<_> = fields.iter().filter_map(|field| env_pair(field)).collect();
    let dropped = fields.len() - env.len();
    if dropped > 0 {
        log!("record-listeners: pid {pid}: dropped {dropped} environment entries that are not UTF-8 KEY=VALUE");
    }
    let cwd = Some(cwd);
    Ok(Some(Entry { argv, cwd, env }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    // Real lines (trailing blanks cut): a host's /proc/net/tcp (a listener,
    // an accepted connection, a closed one in TIME_WAIT), and the
    // tcp6 table of a busybox container running `httpd -p 3000` and
    // `nc -ll -p 9999` (busybox listens on IPv6 only, dual-stack).
    const TCP_HEADER: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
    const TCP_LISTEN_LINE: &str = "   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 126 1 000000001d4e3690 100 0 0 10 0";
    const TCP_ESTABLISHED: &str = "   2: 0100007F:E1F1 0100007F:B890 01 00000000:00000000 00:00000000 00000000     0        0 271119 1 000000003ec99fef 20 0 0 10 -1";
    const TCP_TIME_WAIT: &str = "   2: 0100007F:B890 0100007F:E1F1 06 00000000:00000000 03:0000175B 00000000     0        0 0 3 00000000d3e7c70a";
    const TCP6_HEADER: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
    const TCP6_LISTEN: &str = "   0: 00000000000000000000000000000000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 269672 1 000000006c79fad9 100 0 0 10 0";
    const TCP6_LISTEN_2: &str = "   1: 00000000000000000000000000000000:270F 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 269611 1 00000000a785309f 100 0 0 10 0";

    #[test]
    fn takes_inodes_of_listen_lines_only() {
        assert_eq!(listen_inode(TCP_LISTEN_LINE), Some(126));
        assert_eq!(listen_inode(TCP6_LISTEN), Some(269672));
        assert_eq!(listen_inode(TCP6_LISTEN_2), Some(269611));
        for other in [
            TCP_HEADER,
            TCP6_HEADER,
            TCP_ESTABLISHED,
            TCP_TIME_WAIT,
            "",
            "   0: 0A",
        ] {
            assert_eq!(listen_inode(other), None, "{other:?}");
        }
        let zero_inode = TCP_LISTEN_LINE.replace(" 126 ", " 0 ");
        assert_eq!(listen_inode(&zero_inode), None);
    }

    #[test]
    fn reads_socket_links() {
        assert_eq!(socket_inode(OsStr::new("socket:[51234]")), Some(51234));
        for other in [
            "pipe:[51234]",
            "/dev/null",
            "socket:[]",
            "socket:[12",
            "socket:[1x]",
            "anon_inode:[eventfd]",
        ] {
            assert_eq!(socket_inode(OsStr::new(other)), None, "{other}");
        }
    }

    #[test]
    fn reads_ppid_and_pgid_even_from_odd_command_names() {
        assert_eq!(stat_ids("42 (sleep) S 7 40 1 0 -1"), Some((7, 40)));
        assert_eq!(stat_ids("42 (a) b (c) R 9 42 1 0"), Some((9, 42)));
        assert_eq!(stat_ids("42 (no close"), None);
        assert_eq!(stat_ids("42 (x) S 7"), None);
    }

    #[test]
    fn splits_nul_separated_fields() {
        assert_eq!(nul_fields(b""), Vec::<&[u8]>::new());
        assert_eq!(
            nul_fields(b"python3\0-m\0http.server\0"),
            [&b"python3"[..], b"-m", b"http.server"]
        );
        assert_eq!(nul_fields(b"a\0\0b\0"), [&b"a"[..], b"", b"b"]);
        // setproctitle-style rewrites may drop the terminator.
        assert_eq!(nul_fields(b"nginx: master"), [&b"nginx: master"[..]]);
        assert_eq!(env_pair(b"A=b=c"), Some(("A".into(), "b=c".into())));
        assert_eq!(env_pair(b"E="), Some(("E".into(), String::new())));
        assert_eq!(env_pair(b"=x"), None);
        assert_eq!(env_pair(b"NOEQ"), None);
        assert_eq!(env_pair(b"K=\xff"), None);
    }

    #[test]
    fn records_a_live_process_exactly() {
        // cat blocks reading the pipe before it gets to the odd argument.
        let mut child = std::process::Command::new("cat")
            .args(["-", "no such file"])
            .stdin(std::process::Stdio::piped())
            .current_dir("/")
            .env_clear()
            .env("FOO", "bar=baz")
            .spawn()
            .expect("spawn cat");
        let pid = i32::try_from(child.id()).expect("pid");
        let recorded = entry(pid);
        let table = process_table(&HashSet::new(), &[]);
        child.kill().expect("kill");
        child.wait().expect("wait");
        let recorded = recorded.expect("readable").expect("running");
        assert_eq!(recorded.argv, ["cat", "-", "no such file"]);
        assert_eq!(recorded.cwd, Some(PathBuf::from("/")));
        assert_eq!(recorded.env, [("FOO".to_string(), "bar=baz".to_string())]);
        let me = i32::try_from(std::process::id()).expect("pid");
        let row = table.expect("table").get(&pid).copied().expect("listed");
        assert_eq!((row.ppid, row.listens), (me, false));
        assert_eq!(entry(i32::MAX), Ok(None));
    }

    #[test]
    fn finds_its_own_listening_socket() {
        let me = i32::try_from(std::process::id()).expect("pid");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let inodes = listening_inodes().expect("tcp table");
        assert!(
            holds_any(me, &inodes),
            "own listener not found in {inodes:?}"
        );
        let table = process_table(&inodes, &[]).expect("table");
        assert!(table.get(&me).is_some_and(|row| row.listens));
        let ignored = process_table(&inodes, &[me]).expect("table");
        assert!(ignored.get(&me).is_some_and(|row| !row.listens));
        drop(listener);
    }
}
