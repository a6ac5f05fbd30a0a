//! How the service keeps its resident memory flat across model reloads, on
//! glibc (elsewhere both functions do nothing).
//!
//! glibc gives each thread that allocates concurrently an arena of its own,
//! up to 8 per core, and memory freed in an arena stays there. A reload
//! parses a model file of a few MB on whichever blocking-pool thread runs it
//! while scoring threads allocate around it, so each reload left holes in a
//! different arena. Measured with `scripts/soak.sh` (4 clients of mixed load,
//! a reload every 15 s, 2-core machine): RSS grew from 50 to 94 MB in 10
//! minutes; with [`release_free_memory`] after each reload, from 25 to
//! 41-46 MB; with at most [`arena_cap`] arenas as well, 21-24 MB over 4
//! minutes, flat (and flat at 21.2-21.6 MB without reloads either way).
//! Fewer arenas mean more lock contention between allocating threads; with
//! one per core, threads that run at once rarely share one.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// Arenas glibc may create: one per core, at least 2. `MALLOC_ARENA_MAX` in
/// the environment, when set, is left to glibc.
pub fn arena_cap(cores: usize) -> usize {
    cores.max(2)
}

/// Caps glibc's arena count at [`arena_cap`] of `cores`, unless
/// `MALLOC_ARENA_MAX` is set. Call once at startup, before the worker threads
/// exist. Returns the cap applied, if any.
pub fn cap_arenas(cores: usize) -> Option<usize> {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return None;
    }
    set_arena_max(arena_cap(cores))
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_arena_max(n: usize) -> Option<usize> {
    let value = libc::c_int::try_from(n).ok()?;
    // SAFETY: mallopt takes two integers and only changes allocator
    // parameters; M_ARENA_MAX is a documented glibc option.
    let ok = unsafe { libc::mallopt(libc::M_ARENA_MAX, value) } == 1;
    ok.then_some(n)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_arena_max(_n: usize) -> Option<usize> {
    None
}

/// Returns the allocator's free memory to the operating system: glibc's
/// `malloc_trim` walks every arena and releases whole free pages (about a
/// millisecond here). Called after each reload, when a model's worth of
/// memory has just been freed.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only inspects and trims the allocator's own free
    // lists; it is thread-safe and takes no pointers of ours.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// How long [`release_when_unused`] waits for the requests still scoring
/// with an old model: the default request deadline.
const OLD_MODEL_WAIT: Duration = Duration::from_secs(10);

/// Frees `old` (a model just swapped out) once no request scores with it any
/// more, then returns the memory to the operating system. Requests that
/// took the old model before the swap finish with it; a blocking-pool
/// thread polls every 10 ms until it holds the last reference. If a request
/// still holds one after [`OLD_MODEL_WAIT`], that request frees it, and the
/// memory is returned at the next reload.
pub fn release_when_unused<T: Send + Sync + 'static>(old: Arc<T>) {
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + OLD_MODEL_WAIT;
        let mut old = old;
        loop {
            match Arc::try_unwrap(old) {
                Ok(model) => {
                    drop(model);
                    release_free_memory();
                    return;
                }
                Err(shared) if Instant::now() < deadline => {
                    old = shared;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(_) => return,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_one_arena_per_core_and_at_least_two() {
        for (cores, cap) in [(1, 2), (2, 2), (8, 8), (64, 64)] {
            assert_eq!(arena_cap(cores), cap, "{cores} cores");
        }
    }

    #[tokio::test]
    async fn an_old_model_is_freed_once_its_last_request_lets_go() {
        struct Flag(Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let old = Arc::new(Flag(Arc::clone(&dropped)));
        let request = Arc::clone(&old);
        release_when_unused(old);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !dropped.load(std::sync::atomic::Ordering::SeqCst),
            "a request holds it"
        );
        drop(request);
        let t0 = Instant::now();
        while !dropped.load(std::sync::atomic::Ordering::SeqCst) {
            assert!(t0.elapsed() < Duration::from_secs(5), "never freed");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[test]
    fn trimming_is_safe_to_call_any_time() {
        let v: Vec<u8> = vec![1; 8 << 20];
        drop(v);
        release_free_memory();
        release_free_memory();
    }
}
