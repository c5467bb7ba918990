//! Rule: of all listening processes, the recorded ones are those with no
//! listening ancestor and no part in the start command.
//!
//! A listener whose parent, grandparent, … also listens is a worker of that
//! ancestor (a pre-fork server) and comes back with it, so only the topmost
//! one is recorded; non-listening ancestors (`bash -lc "python3 …"`) are
//! never recorded themselves. A process in the start command's process
//! group, or descended from one that is, is started by the init anyway and
//! is left out. Ancestry follows ppid links through the processes that are
//! known; an unknown parent ends the chain.

use std::collections::BTreeMap;

/// What selection needs to know about one process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proc {
    pub ppid: i32,
    pub pgid: i32,
    /// Holds a listening TCP socket (and is eligible to be recorded).
    pub listens: bool,
}

/// Pids to record, ascending.
pub fn topmost(procs: &BTreeMap<i32, Proc>, start_pgid: Option<i32>) -> Vec<i32> {
    procs
        .iter()
        .filter(|(_, proc)| proc.listens)
        .filter(|&(&pid, proc)| {
            let in_start = |p: &Proc| Some(p.pgid) == start_pgid;
            let mut ancestors = Ancestors {
                procs,
                next: proc.ppid,
                left: procs.len(),
                origin: pid,
            };
            !in_start(proc) && ancestors.all(|a| !a.listens && !in_start(a))
        })
        .map(|(&pid, _)| pid)
        .collect()
}

/// Walks up the ppid chain; stops at an unknown pid, and after as many
/// steps as there are processes (or on reaching the start again), so a
/// table read while pids were being reused cannot loop forever.
struct Ancestors<'a> {
    procs: &'a BTreeMap<i32, Proc>,
    next: i32,
    left: usize,
    origin: i32,
}

impl<'a> Iterator for Ancestors<'a> {
    type Item = &'a Proc;

    fn next(&mut self) -> Option<&'a Proc> {
        if self.left == 0 || self.next == self.origin {
            return None;
        }
        self.left -= 1;
        let proc = self.procs.get(&self.next)?;
        self.next = proc.ppid;
        Some(proc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(pid, ppid, pgid, listens)` rows.
    fn table(rows: &[(i32, i32, i32, bool)]) -> BTreeMap<i32, Proc> {
        rows.iter()
            .map(|&(pid, ppid, pgid, listens)| {
                (
                    pid,
                    Proc {
                        ppid,
                        pgid,
                        listens,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn records_the_listener_not_its_shell() {
        // init(1) ─ bash(20) ─ python3(21, listening); a docker exec shell
        // (30, ppid 0 as its parent is outside the namespace) runs httpd(31).
        let procs = table(&[
            (1, 0, 1, false),
            (20, 1, 20, false),
            (21, 20, 20, true),
            (30, 0, 30, false),
            (31, 30, 30, true),
        ]);
        assert_eq!(topmost(&procs, None), [21, 31]);
    }

    #[test]
    fn records_only_the_topmost_of_nested_listeners() {
        // Pre-fork server: master 10 with listening workers 11 and 12, and a
        // listening grandchild 13 below a non-listening helper 14.
        let procs = table(&[
            (10, 0, 10, true),
            (11, 10, 10, true),
            (12, 10, 10, true),
            (14, 10, 10, false),
            (13, 14, 10, true),
            (50, 0, 50, true),
        ]);
        assert_eq!(topmost(&procs, None), [10, 50]);
    }

    #[test]
    fn leaves_out_the_start_command_and_its_descendants() {
        // Start command group 100: sh(100) ─ node(101, listening) ─ a
        // worker in its own group (102, listening); setsid'd server (103)
        // below the start shell; an unrelated server (200) is kept.
        let procs = table(&[
            (1, 0, 1, false),
            (100, 1, 100, false),
            (101, 100, 100, true),
            (102, 101, 102, true),
            (103, 100, 103, true),
            (200, 1, 200, true),
        ]);
        assert_eq!(topmost(&procs, Some(100)), [200]);
        assert_eq!(topmost(&procs, None), [101, 103, 200]);
        assert_eq!(topmost(&procs, Some(999)), [101, 103, 200]);
    }

    #[test]
    fn survives_unknown_parents_and_cycles() {
        let orphan = table(&[(5, 4, 5, true)]);
        assert_eq!(topmost(&orphan, None), [5]);
        // Impossible in one snapshot, but pid reuse mid-scan can fake it.
        let cycle = table(&[(7, 8, 7, true), (8, 9, 8, false), (9, 8, 9, false)]);
        assert_eq!(topmost(&cycle, None), [7]);
        let self_loop = table(&[(3, 3, 3, true)]);
        assert_eq!(topmost(&self_loop, None), [3]);
        assert_eq!(topmost(&BTreeMap::new(), None), Vec::<i32>::new());
    }
}
