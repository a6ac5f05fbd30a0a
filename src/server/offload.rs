//! Scoring work handed off the event loops: [`offload`] runs it on Tokio's
//! blocking pool, on threads whose CPU priority is lowered once
//! ([`SCORING_NICE`]), so that when the cores are saturated the actix
//! workers still get the CPU first: they answer `/healthz`, read request
//! heads and refuse requests over the in-flight limit with 503 promptly,
//! while the admitted scoring work takes whatever CPU is left.
//!
//! Only the relative order changes: on an otherwise idle machine a niced
//! thread runs at full speed (nice weights matter only between runnable
//! threads). Lowering a thread's priority needs no privilege; raising it
//! back would, so the pool's threads stay lowered, which is what they are
//! for (the service uses the blocking pool for scoring and model loading
//! only). On platforms other than Linux, where nice is per process rather
//! than per thread, nothing is changed.

use std::cell::Cell;

use tokio::task::JoinError;

/// The nice value of the scoring threads (the event loops keep 0). At 10 a
/// runnable event-loop thread weighs about ten times a scoring thread in
/// Linux's scheduler (CFS weights 1024 vs 110).
pub const SCORING_NICE: i32 = 10;

thread_local! {
    /// Whether this thread's priority has been lowered already.
    static LOWERED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `work` on the blocking pool at [`SCORING_NICE`] and awaits it. An
/// error means `work` panicked (or the runtime is shutting down).
pub async fn offload<F, R>(work: F) -> Result<R, JoinError>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        lower_priority();
        work()
    })
    .await
}

/// Lowers the calling thread's priority to [`SCORING_NICE`], once per thread.
/// A failure (a sandbox forbidding `setpriority`) is logged once per thread
/// and otherwise ignored: scoring still works, only without the ordering.
fn lower_priority() {
    if LOWERED.with(|l| l.replace(true)) {
        return;
    }
    if let Err(e) = set_thread_nice(SCORING_NICE) {
        tracing::debug!(error = %e, "could not lower the scoring thread's priority");
    }
}

/// Sets the calling thread's nice value (Linux: nice is per thread), unless
/// it is already at least `nice` (a service started under `nice -n 15` stays
/// there: raising a priority would need privilege).
#[cfg(target_os = "linux")]
fn set_thread_nice(nice: i32) -> std::io::Result<()> {
    if thread_nice() >= nice {
        return Ok(());
    }
    // SAFETY: gettid and setpriority take plain integers and touch no
    // memory of ours; PRIO_PROCESS with a thread id changes that thread only.
    let rc = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn set_thread_nice(_nice: i32) -> std::io::Result<()> {
    Ok(())
}

/// The calling thread's nice value (Linux).
#[cfg(target_os = "linux")]
fn thread_nice() -> i32 {
    // SAFETY: as above; getpriority may return -1 legitimately, so errno
    // would be needed to tell errors apart, but no nice value here is -1.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn offloaded_work_runs_at_the_scoring_nice_and_the_caller_keeps_its_own() {
        let caller = thread_nice();
        let inside = offload(thread_nice).await.expect("the work ran");
        // Under `nice -n 15 cargo test` the pool starts at 15 and stays there.
        assert_eq!(
            inside,
            caller.max(SCORING_NICE),
            "nice inside the blocking pool"
        );
        assert_eq!(thread_nice(), caller, "the awaiting thread is unchanged");
    }

    #[tokio::test]
    async fn a_panic_in_the_work_is_an_error_not_a_crash() {
        let r = offload(|| -> u8 { panic!("scorer bug") }).await;
        assert!(r.is_err_and(|e| e.is_panic()));
    }
}
