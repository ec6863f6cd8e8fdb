//! The second core: how many cores `ann_core` may use, and running two pieces of work at once.
//!
//! Every use splits work whose pieces write disjoint outputs and compute each entry exactly
//! as one piece would, so results never depend on the number of cores.

use std::sync::{Condvar, Mutex, OnceLock, TryLockError};

/// Cores `ann_core` may use: `ANN_CORE_THREADS` if set (1 keeps everything on one core),
/// else what the OS reports.
pub(crate) fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| {
        let env = std::env::var("ANN_CORE_THREADS").ok().and_then(|v| v.trim().parse::<usize>().ok());
        env.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1)
    })
}

/// Whether this build runs work on a second core of its own (big products, dW ∥ dA, big
/// evaluations): not when its matrix products already run on several threads (the
/// `threading` and `blas` features).
pub(crate) const OWN_THREADS: bool = !cfg!(feature = "threading") && !cfg!(feature = "blas");

/// Runs `here` on this thread and `there` on the second core's thread, and returns both
/// results; a panic in `there` is resumed here.
///
/// The second thread is started once and then waits for work: starting a thread for every
/// call costs tens of microseconds (about 70 µs on a busy 2-core VM), and a training step
/// joins several times. A call made while that thread is taken (by another caller, or from
/// inside `there`) starts a thread of its own, as before.
pub(crate) fn join<A, B: Send>(here: impl FnOnce() -> A, there: impl FnOnce() -> B + Send) -> (A, B) {
    let worker = Worker::get();
    // A panic that unwound through an earlier call poisoned the lock without harming the
    // worker (it catches the task's panics): the lock is taken all the same.
    let _taken = match worker.taken.try_lock() {
        Ok(guard) => guard,
        Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(TryLockError::WouldBlock) => return scoped_join(here, there),
    };
    let mut there = Some(there);
    let mut result: Option<std::thread::Result<B>> = None;
    let mut task = || {
        let f = there.take().expect("a task runs once");
        result = Some(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    };
    let task: *mut (dyn FnMut() + Send + '_) = &mut task;
    // SAFETY: the pointer is only used by the worker while this call waits for it: `Done`
    // below waits for the task to finish before this frame (and the borrows in `task`) ends,
    // whether `here` returns or unwinds.
    let task: *mut (dyn FnMut() + Send + 'static) = unsafe { std::mem::transmute(task) };
    *lock(&worker.done) = false;
    *lock(&worker.task) = Some(Task(task));
    worker.start.notify_one();
    let done = Done(worker);
    let a = here();
    drop(done);
    match result.take().expect("the task ran") {
        Ok(b) => (a, b),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// [`join`] on a new thread.
fn scoped_join<A, B: Send>(here: impl FnOnce() -> A, there: impl FnOnce() -> B + Send) -> (A, B) {
    std::thread::scope(|scope| {
        let other = scope.spawn(there);
        let a = here();
        (a, other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}

/// The second core's thread: it runs one [`Task`] at a time.
struct Worker {
    /// Held by the caller whose task the worker runs.
    taken: Mutex<()>,
    task: Mutex<Option<Task>>,
    start: Condvar,
    done: Mutex<bool>,
    finished: Condvar,
}

/// A caller's closure, valid until the caller has seen `done`.
struct Task(*mut (dyn FnMut() + Send + 'static));

// SAFETY: the closure is `Send`; the pointer is used by one thread at a time (see `join`).
unsafe impl Send for Task {}

impl Worker {
    fn get() -> &'static Worker {
        static WORKER: OnceLock<&'static Worker> = OnceLock::new();
        WORKER.get_or_init(|| {
            let worker: &'static Worker = Box::leak(Box::new(Worker {
                taken: Mutex::new(()),
                task: Mutex::new(None),
                start: Condvar::new(),
                done: Mutex::new(true),
                finished: Condvar::new(),
            }));
            std::thread::Builder::new()
                .name("ann_core second core".into())
                .spawn(move || worker.serve())
                .expect("a thread for the second core");
            worker
        })
    }

    fn serve(&self) {
        loop {
            let mut slot = lock(&self.task);
            while slot.is_none() {
                slot = self.start.wait(slot).unwrap_or_else(|e| e.into_inner());
            }
            let Task(task) = slot.take().expect("a task");
            drop(slot);
            // SAFETY: the caller waits for `done` before the closure goes away; the closure
            // catches its own panics.
            unsafe { (*task)() };
            *lock(&self.done) = true;
            self.finished.notify_all();
        }
    }
}

/// Waits, when dropped, until the worker has finished the caller's task.
struct Done(&'static Worker);

impl Drop for Done {
    fn drop(&mut self) {
        let mut done = lock(&self.0.done);
        while !*done {
            done = self.0.finished.wait(done).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// A lock that ignores poisoning (no code holding these locks can panic).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_returns_both_results_and_passes_panics_on() {
        let mut left = vec![0; 4];
        let mut right = vec![0; 4];
        let (a, b) =
            join(|| left.iter_mut().for_each(|v| *v = 1), || right.iter_mut().map(|v| *v = 2).count());
        assert_eq!((a, b), ((), 4));
        assert_eq!((left, right), (vec![1; 4], vec![2; 4]));
        assert!(std::panic::catch_unwind(|| join(|| 1, || -> u8 { panic!("there") })).is_err());
        assert!(cores() >= 1);
        // After a panic the worker serves again (its thread runs `there`); a join inside a
        // join, and joins from several threads at once, each get their results.
        let on_worker = || std::thread::current().name() == Some("ann_core second core");
        // (Other tests may hold the worker for a moment: then `there` runs on a thread of its
        // own, so ask until the worker takes it.)
        let served = || {
            (0..10_000).any(|_| {
                join(|| (), on_worker).1 || {
                    std::thread::yield_now();
                    false
                }
            })
        };
        assert!(served());
        assert_eq!(join(|| join(|| 1, || 2), || join(|| 3, || 4)), ((1, 2), (3, 4)));
        let sums: Vec<(u64, u64)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4u64)
                .map(|k| {
                    s.spawn(move || {
                        (0..200).map(|i| join(|| k + i, || k * i)).fold((0, 0), |t, p| (t.0 + p.0, t.1 + p.1))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (k, sum) in sums.iter().enumerate() {
            let k = k as u64;
            assert_eq!(*sum, ((0..200).map(|i| k + i).sum(), (0..200).map(|i| k * i).sum()));
        }
        // A panic in `here` still waits for `there`, whose borrows must outlive it.
        let mut written = [0u8; 3];
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            join(|| panic!("here"), || written.iter_mut().for_each(|w| *w = 7))
        }));
        assert!(r.is_err());
        assert_eq!(written, [7; 3]);
        assert!(served(), "the worker serves again after a panic in `here`");
    }
}
