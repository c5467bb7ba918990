//! PTY rule: a terminal is a master/slave pair opened close-on-exec (so no
//! other child inherits it); the child gets the slave on 0/1/2 and makes it
//! its controlling terminal, the agent keeps only the master, non-blocking,
//! behind tokio's `AsyncFd` — reads, writes and resizes never block the
//! runtime thread. A read error of EIO means every slave is closed: EOF.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use tokio::io::unix::AsyncFd;

use crate::proto::process::PtySize;

/// Size used when a client asks for a terminal without one.
const DEFAULT: PtySize = PtySize { cols: 80, rows: 24 };

/// The agent's side of a terminal.
#[derive(Debug)]
pub struct Pty {
    master: AsyncFd<OwnedFd>,
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Opens a terminal of `size`; returns the master and the slave.
pub fn open(size: Option<PtySize>) -> io::Result<(Pty, OwnedFd)> {
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: posix_openpt returns a new descriptor we own, or -1.
    let master = unsafe { OwnedFd::from_raw_fd(check(libc::posix_openpt(flags))?) };
    let fd = master.as_raw_fd();
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: `fd` is a valid pty master; `name` is writable for its length.
    unsafe {
        check(libc::grantpt(fd))?;
        check(libc::unlockpt(fd))?;
        let err = libc::ptsname_r(fd, name.as_mut_ptr(), name.len());
        if err != 0 {
            return Err(io::Error::from_raw_os_error(err));
        }
    }
    // SAFETY: ptsname_r succeeded, so `name` holds a NUL-terminated path.
    let path = unsafe { CStr::from_ptr(name.as_ptr()) };
    // SAFETY: open returns a new descriptor we own, or -1.
    let slave = unsafe { OwnedFd::from_raw_fd(check(libc::open(path.as_ptr(), flags))?) };
    // SAFETY: F_GETFL/F_SETFL on a descriptor we own.
    unsafe {
        let fl = check(libc::fcntl(fd, libc::F_GETFL))?;
        check(libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK))?;
    }
    // SAFETY: an OwnedFd keeps its one descriptor open until it is dropped
    // with the AsyncFd, and always returns it from as_raw_fd.
    let master = unsafe { AsyncFd::register(master) }.map_err(|e| e.into_parts().1)?;
    let pty = Pty { master };
    pty.resize(size.filter(|s| s.cols > 0 && s.rows > 0).unwrap_or(DEFAULT))?;
    Ok((pty, slave))
}

/// Runs in the child between fork and exec: a new session whose
/// controlling terminal is the slave already on fd 0.
pub fn become_session_leader(with_tty: bool) -> io::Result<()> {
    // SAFETY: setsid and ioctl are async-signal-safe and touch no memory of ours.
    unsafe {
        check(libc::setsid())?;
        if with_tty {
            check(libc::ioctl(0, libc::TIOCSCTTY, 0))?;
        }
    }
    Ok(())
}

impl Pty {
    /// Sets the window size; the kernel sends SIGWINCH to the foreground group.
    pub fn resize(&self, size: PtySize) -> io::Result<()> {
        let ws = libc::winsize {
            ws_row: u16::try_from(size.rows).unwrap_or(u16::MAX),
            ws_col: u16::try_from(size.cols).unwrap_or(u16::MAX),
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads one winsize from the pointer we pass.
        check(unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) })?;
        Ok(())
    }

    /// Reads what the terminal wrote; `Ok(0)` once every slave is closed.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.master.readable().await?;
            let result = guard.try_io(|fd| {
                // SAFETY: `buf` is writable for its length.
                let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                usize::try_from(n).map_err(|_| io::Error::last_os_error())
            });
            match result {
                Ok(Err(err)) if err.raw_os_error() == Some(libc::EIO) => return Ok(0),
                Ok(done) => return done,
                Err(_would_block) => continue,
            }
        }
    }

    /// Writes all of `data` to the terminal (what a keyboard would type).
    pub async fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let mut guard = self.master.writable().await?;
            let result = guard.try_io(|fd| {
                // SAFETY: `data` is readable for its length.
                let n = unsafe { libc::write(fd.as_raw_fd(), data.as_ptr().cast(), data.len()) };
                usize::try_from(n).map_err(|_| io::Error::last_os_error())
            });
            match result {
                Ok(Ok(n)) => data = &data[n..],
                Ok(Err(err)) => return Err(err),
                Err(_would_block) => continue,
            }
        }
        Ok(())
    }
}
