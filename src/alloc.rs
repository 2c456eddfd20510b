//! glibc allocator tuning for long batches: the crate's only `unsafe` code, kept in one place.
//! Each thread that allocates gets an arena, and an arena keeps what was freed in it; a remote
//! batch (threads that decode, encode and send, one per stream and one per request) would
//! otherwise hold memory that grows with the streams it has finished. A training run wants the
//! opposite: its steps reuse the same large buffers, so it keeps what it frees. No-ops
//! elsewhere.

/// Caps glibc's malloc at one arena per core (its default is eight per core). A remote batch
/// held 50 MB more at its peak without it, and 100 MB more overall, with no gain in speed.
/// Call first thing in `main`, before any other thread exists.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn limit_arenas() {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let arenas = libc::c_int::try_from(cores.max(2)).unwrap_or(libc::c_int::MAX);
    // SAFETY: `mallopt` only sets a tuning parameter of the allocator; it is called before
    // any other thread exists, and a refusal (0) leaves glibc's default in place.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_arenas() {}

/// Hands memory freed by finished work back to the system. glibc keeps freed chunks in its
/// arenas for reuse, and with many threads taking turns at a few arenas those chunks scatter:
/// a long batch's footprint would creep up with the number of streams it has finished, not
/// with the streams in hand. Takes a few ms (1-38 ms measured), so call it off the hot path.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn release_freed_memory() {
    // SAFETY: `malloc_trim` only returns free pages of glibc's own heaps to the kernel; it
    // takes each arena's lock and touches no memory in use.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_freed_memory() {}

/// Keeps freed memory in the process instead of handing it back at once, until the returned
/// guard drops: a training step allocates and frees the same few tensors of 10-30 MB hundreds
/// of times, and glibc would otherwise map each afresh (and the kernel zero its pages) every
/// time. The guard puts glibc's thresholds back at their starting values (the mmap threshold
/// then stays at 128 KiB instead of adapting, as glibc has no way to turn adapting back on)
/// and hands what was kept back, so an app that trained once does not hold that memory.
#[must_use = "memory is kept only while the guard lives"]
pub fn keep_freed_memory() -> KeptMemory {
    // glibc's largest mmap threshold on 64-bit systems; a larger value is refused.
    const MMAP_THRESHOLD: i32 = 32 * 1024 * 1024;
    set_thresholds(MMAP_THRESHOLD, i32::MAX);
    KeptMemory(())
}

/// See [`keep_freed_memory`].
#[derive(Debug)]
pub struct KeptMemory(());

impl Drop for KeptMemory {
    fn drop(&mut self) {
        // glibc's starting values for both (128 KiB).
        const DEFAULT_THRESHOLD: i32 = 128 * 1024;
        set_thresholds(DEFAULT_THRESHOLD, DEFAULT_THRESHOLD);
        release_freed_memory();
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn set_thresholds(mmap: i32, trim: i32) {
    // SAFETY: `mallopt` only sets tuning parameters of the allocator, and a refusal (0)
    // leaves the value before in place.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, mmap);
        libc::mallopt(libc::M_TRIM_THRESHOLD, trim);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_thresholds(_mmap: i32, _trim: i32) {}
