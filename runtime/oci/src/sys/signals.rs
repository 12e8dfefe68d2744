//! Forwarding the signals a foreground `run` or `exec` receives to the container's process,
//! as runc does: Ctrl-C in the terminal reaches the container, not just hullrt.

use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

static TARGET: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward(sig: libc::c_int) {
    let pid = TARGET.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

pub const FORWARDED: [Signal; 9] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
    Signal::SIGCONT,
    Signal::SIGWINCH,
];

/// From now on the forwarded signals go to `pid`.
pub fn forward_to(pid: i32) {
    TARGET.store(pid, Ordering::SeqCst);
    let action = SigAction::new(
        SigHandler::Handler(forward),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in FORWARDED {
        // SAFETY: the handler only reads an atomic and calls kill(2).
        let _ = unsafe { sigaction(sig, &action) };
    }
}

/// Put the default dispositions back (in a child before it execs).
pub fn reset() {
    let action = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for sig in FORWARDED {
        // SAFETY: restoring the default disposition.
        let _ = unsafe { sigaction(sig, &action) };
    }
}
