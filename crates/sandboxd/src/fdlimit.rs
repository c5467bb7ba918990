//! Open-file budget. sandboxd raises its own `RLIMIT_NOFILE` soft limit to the hard limit at
//! start (the default soft limit, often 1,024, is far below what a proxy needs), and the preview
//! listener's connection cap is then derived from it so that [`RESERVED`] descriptors always
//! stay free for the API, the engine's connection, the store, wakes and logs: previews alone
//! can never starve them. A preview connection may hold two descriptors (client and upstream).

/// Descriptors kept out of the preview listener's reach.
pub const RESERVED: u64 = 1024;

/// Raise the soft limit to the hard one; returns the soft limit in force afterwards.
pub fn raise_nofile() -> std::io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own and pass by valid pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct we pass by valid pointer.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            let e = std::io::Error::last_os_error();
            tracing::warn!(error = %e, soft = lim.rlim_cur, hard = lim.rlim_max, "could not raise the open-file limit");
            return Ok(lim.rlim_cur);
        }
        return Ok(lim.rlim_max);
    }
    Ok(lim.rlim_cur)
}

/// The preview connection cap that fits a soft limit of `nofile`: the configured cap, lowered
/// so that [`RESERVED`] descriptors stay free even if every connection holds two.
pub fn preview_cap(configured: usize, nofile: u64) -> usize {
    let fits = (nofile.saturating_sub(RESERVED) / 2).max(16);
    configured.min(usize::try_from(fits).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_the_reserve_free() {
        assert_eq!(preview_cap(10_000, 1_048_576), 10_000);
        assert_eq!(preview_cap(10_000, 20_000), 9_488);
        assert_eq!(preview_cap(10_000, 1_024), 16);
        assert!(raise_nofile().unwrap() >= 16);
    }
}
