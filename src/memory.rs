//! The process-wide memory limit (`--memory-limit`).
//!
//! [`Capped`] wraps the global allocator and counts the bytes the process
//! holds on its heap. With a limit set ([`set_limit`]):
//!
//! - the query engine's pool gets [`engine_share`] of it (under a quarter:
//!   the engine holds more than its pool counts) and spills to disk beyond
//!   that;
//! - when the heap first grows past the limit, a watcher thread stops the run
//!   the way a signal would: it waits for any multi-file commit, removes the
//!   run's temporary files, prints `slo::memory::limit` naming the phase the
//!   run was in ([`phase`]) and exits 2;
//! - an allocation that would take the heap past the limit by more than
//!   [`slack`] (one huge allocation, or other threads allocating while the
//!   watcher stops the run) ends the process at once with the same message
//!   (temporary files are then swept by the next run).
//!
//! So the heap never exceeds `limit + slack`. What is not heap — the binary's
//! code, thread stacks, the allocator's own slack — comes on top; README's
//! "Memory" section gives the figures measured by
//! `memory_limit_bounds_the_whole_process`.

use crate::units::ByteSize;
use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};
use std::thread::Thread;

static IN_USE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);
static HARD: AtomicUsize = AtomicUsize::new(usize::MAX);
static TRIPPED: AtomicBool = AtomicBool::new(false);
static WATCHER: OnceLock<Thread> = OnceLock::new();
static PHASE: Mutex<&'static str> = Mutex::new("starting");
/// The most the heap has held since the current phase began.
static PHASE_PEAK: AtomicUsize = AtomicUsize::new(0);
/// Each finished phase and the most the heap held during it, in order.
static PHASE_PEAKS: Mutex<Vec<(&'static str, usize)>> = Mutex::new(Vec::new());

/// A global allocator that counts what the process holds and enforces the
/// limit. `main` installs it around mimalloc.
pub struct Capped<A>(pub A);

impl<A> Capped<A> {
    pub const fn new(inner: A) -> Capped<A> {
        Capped(inner)
    }
}

/// Each thread counts its own allocations and adds them to the process's
/// count in steps of this many bytes (either way): the shared counter is
/// touched once per quarter MiB, not on every allocation (no contention
/// between the engine's threads). The count is off by at most this much per
/// thread. Measured cost of the counting: within noise (medians of 15
/// paired runs of `slo check` on 10,000 SLOs: 0.347 s without it, 0.341 s
/// with it).
const BATCH: isize = 256 << 10;

thread_local! {
    static LOCAL: std::cell::Cell<isize> = const { std::cell::Cell::new(0) };
}

#[inline]
fn grow(n: usize) {
    note(n as isize);
}

#[inline]
fn shrink(n: usize) {
    note(-(n as isize));
}

#[inline]
fn note(delta: isize) {
    let flush = LOCAL.try_with(|l| {
        let v = l.get() + delta;
        if (-BATCH..BATCH).contains(&v) {
            l.set(v);
            0
        } else {
            l.set(0);
            v
        }
    });
    match flush {
        Ok(0) => {}
        Ok(v) => add(v),
        // The thread's locals are being torn down: count directly.
        Err(_) => add(delta),
    }
}

fn add(v: isize) {
    let now = IN_USE.fetch_add(v, Relaxed).wrapping_add(v).max(0) as usize;
    if v > 0 {
        if now > PEAK.load(Relaxed) {
            PEAK.fetch_max(now, Relaxed);
        }
        if now > PHASE_PEAK.load(Relaxed) {
            PHASE_PEAK.fetch_max(now, Relaxed);
        }
        if now > LIMIT.load(Relaxed) {
            over(now);
        }
    }
}

#[cold]
fn over(now: usize) {
    if now > HARD.load(Relaxed) {
        hard_stop(now);
    }
    if !TRIPPED.swap(true, Relaxed) {
        if let Some(t) = WATCHER.get() {
            t.unpark();
        }
    }
}

// SAFETY: every method forwards to the wrapped allocator with the same
// arguments; the counting only reads and writes atomics.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Capped<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        // SAFETY: forwarded as is.
        let p = unsafe { self.0.alloc(layout) };
        if p.is_null() {
            shrink(layout.size());
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        // SAFETY: forwarded as is.
        let p = unsafe { self.0.alloc_zeroed(layout) };
        if p.is_null() {
            shrink(layout.size());
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { self.0.dealloc(ptr, layout) };
        shrink(layout.size());
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old {
            grow(new_size - old);
        }
        // SAFETY: forwarded as is.
        let p = unsafe { self.0.realloc(ptr, layout, new_size) };
        if p.is_null() {
            if new_size > old {
                shrink(new_size - old);
            }
        } else if new_size < old {
            shrink(old - new_size);
        }
        p
    }
}

/// How far past the limit the heap may go while the run is being stopped.
pub fn slack(limit: usize) -> usize {
    (limit / 8).max(16 << 20)
}

/// What the query engine holds beyond its pool, whatever the pool's size:
/// its runtime, readers and buffers (see [`engine_share`]).
const ENGINE_BASE: usize = 8 << 20;

/// The query engine's memory pool within `limit`: a quarter of what is left
/// after [`ENGINE_BASE`]. The pool counts what its operators reserve (a
/// sort's buffered rows), not the batches being decoded, in flight between
/// operators or being copied, so the engine's heap is more than its pool:
/// measured on a file the engine must sort (the time-major file of
/// `the_engine_leaves_slo_half_of_the_limit`), about 1.7× its pool plus 4
/// MiB (a 2 MiB pool: 7.8 MiB; 4 MiB: 11.2; 8 MiB: 18.1; 16 MiB: 30.0).
/// With half of the limit as its pool, as before, the engine alone reached
/// the limit at 16M and the run failed now and then. This share keeps the
/// engine's heap near half of the limit (6–7 MiB at 16M, 12–13 MiB at 24M,
/// 14 MiB at 32M); the rest is slo's own state.
pub fn engine_share(limit: usize) -> usize {
    (limit.saturating_sub(ENGINE_BASE) / 4).max(1 << 20)
}

/// Bytes the process holds on its heap now.
pub(crate) fn in_use() -> usize {
    IN_USE.load(Relaxed).max(0) as usize
}

/// The limit the run must stay within ([`set_limit`]; unlimited before).
pub fn limit() -> usize {
    LIMIT.load(Relaxed)
}

/// The most the process has held on its heap so far.
pub fn peak() -> usize {
    PEAK.load(Relaxed)
}

/// Names what the run is doing, for the message when the limit is reached
/// and for [`phase_peaks`].
pub fn phase(what: &'static str) {
    let mut current = PHASE.lock().unwrap_or_else(|e| e.into_inner());
    let peak = PHASE_PEAK.swap(in_use(), Relaxed);
    raise(&mut PHASE_PEAKS.lock().unwrap_or_else(|e| e.into_inner()), *current, peak);
    *current = what;
}

/// Records that the heap held `peak` during `phase` (its highest counts).
fn raise(peaks: &mut Vec<(&'static str, usize)>, phase: &'static str, peak: usize) {
    match peaks.iter_mut().find(|(p, _)| *p == phase) {
        Some((_, p)) => *p = (*p).max(peak),
        None => peaks.push((phase, peak)),
    }
}

/// The most the heap held during each phase so far (a phase entered more
/// than once counts its highest), in the order the phases first began,
/// the current one last (`--timing` prints them).
pub fn phase_peaks() -> Vec<(&'static str, usize)> {
    let current = *PHASE.lock().unwrap_or_else(|e| e.into_inner());
    let mut peaks = PHASE_PEAKS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    raise(&mut peaks, current, PHASE_PEAK.load(Relaxed));
    peaks
}

/// `heap peak 12.3 MiB (starting 1.0 MiB, reading the data 12.3 MiB, …)`.
pub fn peaks_text() -> String {
    let phases: Vec<String> = phase_peaks().iter().map(|(p, b)| format!("{p} {}", ByteSize(*b))).collect();
    format!("heap peak {} ({})", ByteSize(peak()), phases.join(", "))
}

/// The default limit: half of the machine's physical memory (4 GiB when it
/// cannot be read).
pub fn default_limit() -> usize {
    // SAFETY: sysconf only reads system configuration.
    let (pages, size) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
    if pages > 0 && size > 0 {
        ((pages as u128 * size as u128) / 2).min(usize::MAX as u128) as usize
    } else {
        4 << 30
    }
}

/// Sets the limit for the rest of the process and starts (once) the
/// watcher that stops the run when it is reached.
pub fn set_limit(limit: usize, flag: &str) {
    *FLAG.lock().unwrap_or_else(|e| e.into_inner()) = flag.to_string();
    HARD.store(limit.saturating_add(slack(limit)), Relaxed);
    LIMIT.store(limit, Relaxed);
    WATCHER.get_or_init(|| {
        std::thread::Builder::new()
            .name("slo-memory".into())
            .spawn(|| loop {
                std::thread::park();
                if TRIPPED.load(Relaxed) {
                    crate::output::exit_cleanly(|| {
                        eprintln!("{}", message(in_use()));
                        2
                    });
                }
            })
            .map(|h| h.thread().clone())
            .unwrap_or_else(|_| std::thread::current())
    });
    // The heap may already be past a small limit.
    if in_use() > limit {
        over(in_use());
    }
}

static FLAG: Mutex<String> = Mutex::new(String::new());

/// The error and its help, two lines.
fn message(now: usize) -> String {
    let phase = *PHASE.lock().unwrap_or_else(|e| e.into_inner());
    let flag = FLAG.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let limit = ByteSize(LIMIT.load(Relaxed));
    let now = ByteSize(now);
    format!(
        "error[slo::memory::limit]: the run needs more memory than --memory-limit {flag} ({limit}) while {phase} (it held {now})\n  help: {HELP}"
    )
}

const HELP: &str = "raise --memory-limit; the query engine spills to disk to stay within half of it, but slo's own state (per series, and in a backtest per rule and evaluation step) does not: fewer series, a shorter time range or a longer --step need less";

/// Writes the message without allocating and ends the process at once.
#[cold]
fn hard_stop(now: usize) -> ! {
    use std::fmt::Write as _;
    struct Buf {
        b: [u8; 1024],
        n: usize,
    }
    impl std::fmt::Write for Buf {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            let take = s.len().min(self.b.len() - self.n);
            self.b[self.n..self.n + take].copy_from_slice(&s.as_bytes()[..take]);
            self.n += take;
            Ok(())
        }
    }
    let mut buf = Buf { b: [0; 1024], n: 0 };
    let limit = LIMIT.load(Relaxed);
    // try_lock: never wait inside the allocator (reading needs no allocation).
    let phase = PHASE.try_lock().map_or("running", |p| *p);
    let flag = FLAG.try_lock();
    let flag = flag.as_deref().map_or("", |f| f.as_str());
    let _ = write!(
        buf,
        "error[slo::memory::limit]: the run needs more memory than --memory-limit {flag} ({} MiB) while {phase} (one allocation would take it to {} MiB)\n  help: {HELP}\n",
        limit >> 20,
        now >> 20
    );
    // SAFETY: writing a stack buffer to stderr and exiting without unwinding
    // or running destructors (we are inside the allocator).
    unsafe {
        libc::write(2, buf.b.as_ptr().cast(), buf.n);
        libc::_exit(2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_is_an_eighth_or_16_mib() {
        assert_eq!(slack(64 << 20), 16 << 20);
        assert_eq!(slack(1 << 30), 128 << 20);
        assert_eq!(engine_share(1 << 30), 254 << 20);
        assert_eq!(engine_share(16 << 20), 2 << 20);
    }

    #[test]
    fn the_default_is_half_of_physical_memory() {
        let d = default_limit();
        assert!(d >= 256 << 20, "{d}");
    }
}
