//! Rule: a secret variable is taken out of the process environment for good:
//! its value bytes are overwritten in the original environment block before
//! the variable is removed, so neither children (which get the environment
//! std builds from `environ`) nor `/proc/<pid>/environ` (which shows the
//! block the kernel placed at exec, whatever `environ` says later) reveal it.

use std::ffi::{c_char, CStr, OsString};

extern "C" {
    static mut environ: *mut *mut c_char;
}

/// Returns the value of `key` and removes it from the environment, after
/// overwriting every `key=value` string of it in place with `=` followed by
/// zero bytes. Must run while the process is single-threaded (the init's
/// start, before anything is spawned).
pub fn take_secret(key: &str) -> Option<OsString> {
    let value = std::env::var_os(key);
    let mut prefix = key.as_bytes().to_vec();
    prefix.push(b'=');
    // SAFETY: `environ` is the NULL-terminated array of NUL-terminated
    // strings libc maintains; the process is single-threaded here, so nothing
    // changes it while it is walked. Each matching string is overwritten
    // within its own length (up to, not including, its terminator).
    unsafe {
        let mut entry = environ;
        while !entry.is_null() && !(*entry).is_null() {
            let text = *entry;
            let len = CStr::from_ptr(text).to_bytes().len();
            let bytes = std::slice::from_raw_parts_mut(text.cast::<u8>(), len);
            if bytes.starts_with(&prefix) {
                bytes[prefix.len()..].fill(0);
            }
            entry = entry.add(1);
        }
    }
    std::env::remove_var(key);
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs in a child process so the test harness's threads never see the
    /// environment being rewritten.
    #[test]
    fn scrubs_the_block_and_removes_the_variable() {
        const KEY: &str = "SANDBOXD_TEST_SECRET_SCRUB";
        if std::env::var_os("SANDBOXD_TEST_SCRUB_CHILD").is_some() {
            let value = take_secret(KEY);
            assert_eq!(value.as_deref(), Some(std::ffi::OsStr::new("hunter2")));
            assert_eq!(std::env::var_os(KEY), None);
            let block = std::fs::read("/proc/self/environ").unwrap();
            let found = block.windows(7).any(|w| w == b"hunter2");
            assert!(!found, "value still in /proc/self/environ");
            return;
        }
        let exe = std::env::current_exe().unwrap();
        let status = std::process::Command::new(exe)
            .args([
                "--exact",
                "sys::environ::tests::scrubs_the_block_and_removes_the_variable",
            ])
            .args(["--test-threads=1", "--nocapture"])
            .env("SANDBOXD_TEST_SCRUB_CHILD", "1")
            .env(KEY, "hunter2")
            .status()
            .unwrap();
        assert!(status.success(), "child test failed: {status}");
    }
}
