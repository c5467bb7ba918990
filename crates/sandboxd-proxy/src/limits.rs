//! Connection caps of the preview listener: at most `global` connections open at once, and at
//! most `per_client` from one client address (IPv6 clients count per /64, the block one host
//! usually holds). A connection over either cap is closed at once. Counting is lock-free: one
//! atomic counter for the total and a fixed table of atomic slots for clients, indexed by a
//! keyed hash of the address (random key per process, so nobody can aim a collision at another
//! client; two clients that happen to share a slot share its cap). Costs nothing per request:
//! only accepting and closing a connection touch the counters.

use sandboxd_metrics::RefusalReason;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

/// Slots for per-client counts (a power of two).
const SLOTS: usize = 16 * 1024;

/// The caps and their counters, shared by the accept loop and every connection.
pub struct ConnLimits {
    global: usize,
    per_client: u32,
    open: AtomicUsize,
    clients: Box<[AtomicU32]>,
    key: RandomState,
}

/// Holds one admitted connection's place under both caps until dropped.
pub struct Admitted {
    limits: Arc<ConnLimits>,
    slot: usize,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.limits.clients[self.slot].fetch_sub(1, Ordering::AcqRel);
        self.limits.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ConnLimits {
    /// Caps of at least one connection each.
    pub fn new(global: usize, per_client: u32) -> Arc<Self> {
        Arc::new(Self {
            global: global.max(1),
            per_client: per_client.max(1),
            open: AtomicUsize::new(0),
            clients: (0..SLOTS).map(|_| AtomicU32::new(0)).collect(),
            key: RandomState::new(),
        })
    }

    /// Take a place for a connection from `ip`, or say which cap refuses it.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Admitted, RefusalReason> {
        if self.open.fetch_add(1, Ordering::AcqRel) >= self.global {
            self.open.fetch_sub(1, Ordering::AcqRel);
            return Err(RefusalReason::GlobalCap);
        }
        let slot = self.slot(ip);
        if self.clients[slot].fetch_add(1, Ordering::AcqRel) >= self.per_client {
            self.clients[slot].fetch_sub(1, Ordering::AcqRel);
            self.open.fetch_sub(1, Ordering::AcqRel);
            return Err(RefusalReason::ClientCap);
        }
        Ok(Admitted {
            limits: self.clone(),
            slot,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    fn slot(&self, ip: IpAddr) -> usize {
        let key: u128 = match ip {
            IpAddr::V4(v4) => u32::from(v4) as u128,
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => u32::from(v4) as u128,
                None => u128::from(v6) & !((1u128 << 64) - 1),
            },
        };
        (self.key.hash_one(key) as usize) & (SLOTS - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn per_client_cap_refuses_and_frees_on_drop() {
        let l = ConnLimits::new(100, 2);
        let a = l.admit(ip("10.0.0.1")).unwrap();
        let _b = l.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(
            l.admit(ip("10.0.0.1")).err(),
            Some(RefusalReason::ClientCap)
        );
        assert_eq!(l.open(), 2);
        drop(a);
        let _c = l.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(l.open(), 2, "the dropped admission freed its place");
    }

    #[test]
    fn global_cap_counts_every_client() {
        let l = ConnLimits::new(3, 10);
        let held: Vec<_> = (1..=3)
            .map(|i| l.admit(ip(&format!("10.0.0.{i}"))).unwrap())
            .collect();
        assert_eq!(
            l.admit(ip("10.0.0.9")).err(),
            Some(RefusalReason::GlobalCap)
        );
        drop(held);
        assert_eq!(l.open(), 0);
        assert!(l.admit(ip("10.0.0.9")).is_ok());
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_v4_as_v4() {
        let l = ConnLimits::new(100, 1);
        let _a = l.admit(ip("2001:db8:1:2::1")).unwrap();
        assert!(l.admit(ip("2001:db8:1:2::ffff")).is_err(), "same /64");
        let _b = l.admit(ip("192.0.2.7")).unwrap();
        assert!(l.admit(ip("::ffff:192.0.2.7")).is_err(), "mapped v4");
    }
}
