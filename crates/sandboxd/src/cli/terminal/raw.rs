//! Raw mode for the local terminal while a remote terminal is attached. Rule: the settings found
//! at start are put back on every way out — the guard's drop (normal return, error, and the
//! signals the relay turns into a return), and a panic (a hook restores before the message is
//! printed) — so the user's shell is never left without echo or line editing.

use std::sync::Mutex;

/// The settings to put back, shared with the panic hook.
static SAVED: Mutex<Option<libc::termios>> = Mutex::new(None);

/// Raw mode on stdin until dropped.
pub struct RawMode(());

impl RawMode {
    /// Switch stdin to raw mode; `None` when stdin is not a terminal (input is then passed
    /// through as it comes, e.g. from a pipe).
    pub fn enable() -> std::io::Result<Option<RawMode>> {
        // SAFETY: isatty only inspects the descriptor.
        if unsafe { libc::isatty(libc::STDIN_FILENO) } != 1 {
            return Ok(None);
        }
        // SAFETY: a zeroed termios is a valid out-parameter for tcgetattr, which fills it.
        let mut original: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: fd 0 is a terminal (checked) and `original` is writable.
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut original) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut raw = original;
        // SAFETY: cfmakeraw only edits the struct it is given.
        unsafe { libc::cfmakeraw(&mut raw) };
        *lock() = Some(original);
        install_panic_hook();
        // SAFETY: fd 0 is a terminal and `raw` a complete termios derived from its own.
        if unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw) } != 0 {
            let err = std::io::Error::last_os_error();
            *lock() = None;
            return Err(err);
        }
        Ok(Some(RawMode(())))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        restore();
    }
}

/// Put the saved settings back (once; later calls do nothing).
fn restore() {
    if let Some(original) = lock().take() {
        // SAFETY: `original` came from tcgetattr on this same descriptor.
        unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &original) };
    }
}

fn lock() -> std::sync::MutexGuard<'static, Option<libc::termios>> {
    // A panic while holding this lock cannot leave the Option half-written: take the value.
    SAVED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

/// The local terminal's size (`cols`, `rows`), when stdout is a terminal.
pub fn window_size() -> Option<(u16, u16)> {
    // SAFETY: a zeroed winsize is a valid out-parameter for TIOCGWINSZ.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one winsize into `ws`; fails harmlessly on a non-terminal.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_col > 0 && ws.ws_row > 0).then_some((ws.ws_col, ws.ws_row))
}
