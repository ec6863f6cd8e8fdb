//! The second core: how many cores `ann_core` may use, and running two pieces of work at once.
//!
//! Every use splits work whose pieces write disjoint outputs and compute each entry exactly
//! as one piece would, so results never depend on the number of cores.

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

/// Runs `here` on this thread and `there` on a new one, and returns both results; a panic
/// in `there` is resumed here.
pub(crate) fn join<A, B: Send>(here: impl FnOnce() -> A, there: impl FnOnce() -> B + Send) -> (A, B) {
    std::thread::scope(|scope| {
        let other = scope.spawn(there);
        let a = here();
        (a, other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
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
    }
}
