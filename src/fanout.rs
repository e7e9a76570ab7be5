//! Work over a fleet: one task per item, at most `jobs` running at once, answers in input
//! order. Reading settings, health, relay probes and DNS checks all fan out this way, so a slow
//! site holds only its own slot.

use std::future::Future;
use std::sync::Arc;

/// Runs `task` for every item, at most `jobs` at a time (at least one). The answer for item `i`
/// is at index `i`; `None` where its task panicked (a bug: logged, naming `what`), so the
/// caller can still report that item, as failed.
pub async fn in_order<T, R, F, Fut>(
    items: Vec<T>,
    jobs: usize,
    what: &str,
    task: F,
) -> Vec<Option<R>>
where
    R: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
{
    let semaphore = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let mut set = tokio::task::JoinSet::new();
    let count = items.len();
    for (index, item) in items.into_iter().enumerate() {
        let semaphore = semaphore.clone();
        // Futures are lazy: nothing of the task runs before its permit is held.
        let work = task(item);
        set.spawn(async move {
            // The semaphore is never closed, so acquiring can't fail; the permit is held to the end.
            let _permit = semaphore.acquire_owned().await.ok();
            (index, work.await)
        });
    }
    let mut out: Vec<Option<R>> = (0..count).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((index, answer)) => out[index] = Some(answer),
            Err(e) => tracing::error!("a {what} task failed: {e}"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn answers_come_back_in_input_order_whatever_order_tasks_finish_in() {
        let delays = vec![30u64, 0, 20, 5, 10];
        let out = in_order(delays.clone(), 8, "test", |ms| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            ms
        })
        .await;
        assert_eq!(out, delays.into_iter().map(Some).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn no_more_than_jobs_tasks_run_at_once() {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let out = in_order((0..12).collect(), 3, "test", |i: i32| {
            let (running, peak) = (running.clone(), peak.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                i
            }
        })
        .await;
        assert_eq!(out.len(), 12);
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn zero_jobs_still_runs_one_at_a_time() {
        let out = in_order(vec![1, 2], 0, "test", |i| async move { i * 2 }).await;
        assert_eq!(out, vec![Some(2), Some(4)]);
    }

    #[tokio::test]
    async fn a_panicking_task_answers_none_and_the_others_still_answer() {
        let out = in_order(vec![1, 2, 3], 2, "test", |i| async move {
            assert!(i != 2, "deliberate panic");
            i
        })
        .await;
        assert_eq!(out, vec![Some(1), None, Some(3)]);
    }
}
