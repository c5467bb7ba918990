//! The host's memory, behind a trait so admission logic can be tested with made-up numbers.

/// Available and total memory of the host, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryReading {
    pub available: u64,
    pub total: u64,
}

pub trait HostMemory: Send + Sync + 'static {
    /// `None` when the reading is impossible (admission then lets everything through).
    fn read(&self) -> Option<MemoryReading>;
}

/// Reads `/proc/meminfo` (MemAvailable, MemTotal).
pub struct ProcMeminfo;

impl HostMemory for ProcMeminfo {
    fn read(&self) -> Option<MemoryReading> {
        parse_meminfo(&std::fs::read_to_string("/proc/meminfo").ok()?)
    }
}

pub fn parse_meminfo(text: &str) -> Option<MemoryReading> {
    Some(MemoryReading {
        available: kib_field(text, "MemAvailable:")? * 1024,
        total: kib_field(text, "MemTotal:")? * 1024,
    })
}

/// The value of a `Name:   N kB` line of a `/proc` file (`meminfo`, `<pid>/status`), in KiB.
pub fn kib_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    line[name.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// A fixed reading, for tests.
pub struct FixedMemory(pub std::sync::Mutex<Option<MemoryReading>>);

impl HostMemory for FixedMemory {
    fn read(&self) -> Option<MemoryReading> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_proc_meminfo() {
        let text = "MemTotal:       24576000 kB\nMemFree:  100 kB\nMemAvailable:   12288000 kB\n";
        let r = super::parse_meminfo(text).unwrap();
        assert_eq!(r.total, 24_576_000 * 1024);
        assert_eq!(r.available, 12_288_000 * 1024);
        assert!(super::parse_meminfo("MemTotal: 1 kB\n").is_none());
    }
}
