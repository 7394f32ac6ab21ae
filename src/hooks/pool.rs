//! The threads hook scripts run on.
//!
//! Why not tokio's blocking pool: a script can be stuck for a long time in
//! one C call (a pattern function backtracking), which no deadline check
//! interrupts. On the blocking pool every such event would take one more of
//! the threads that SQLite and password hashing also need, without end.
//! Here the number of threads is fixed, so stuck scripts can hold at most
//! [`HOOK_THREADS`] threads, and the queue in front of them is bounded.
//!
//! Each job carries its event's deadline. A job still queued when its
//! deadline passes is dropped unrun (the waiting dispatch sees its answer
//! channel close), and when every thread is busy with an event whose
//! deadline is already well past, new jobs are refused at once instead of
//! queueing behind calls that may never end.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Threads that run hook scripts for async dispatches. Lua work is serial
/// per script anyway (one state each), so a few threads are enough, and
/// few is the point: it caps what stuck scripts can hold.
pub const HOOK_THREADS: usize = 2;

/// Events that may wait for a free thread. Past this, an event is refused
/// at once (it would time out in the queue anyway).
const QUEUE_LEN: usize = 256;

/// How far past its event's deadline a thread must be before it counts as
/// stuck: the runs notice their deadline themselves within microseconds,
/// unless they are inside one long C call.
const STUCK_AFTER: Duration = Duration::from_millis(100);

/// Work for a hook thread.
pub type Task = Box<dyn FnOnce() + Send>;

struct Job {
    deadline: Instant,
    task: Task,
}

/// Why a job was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitError {
    /// Every thread is running an event whose budget is long spent.
    Stuck,
    /// Too many events are already waiting.
    QueueFull,
    /// No thread could be started.
    NoThreads,
}

/// A fixed set of threads taking jobs from one bounded queue. Dropping the
/// pool closes the queue; the threads finish their current job and end.
pub struct Pool {
    queue: Option<SyncSender<Job>>,
    /// Per thread, the deadline of the event it is running (`None` when
    /// idle), to tell a busy pool from a stuck one.
    running: Arc<Mutex<Vec<Option<Instant>>>>,
}

impl Pool {
    /// Starts [`HOOK_THREADS`] threads. A thread that cannot be started is
    /// logged; with none at all, every submit fails with `NoThreads`.
    pub fn start() -> Pool {
        let (sender, receiver) = mpsc::sync_channel::<Job>(QUEUE_LEN);
        let receiver = Arc::new(Mutex::new(receiver));
        let running = Arc::new(Mutex::new(Vec::with_capacity(HOOK_THREADS)));
        let mut started = 0;
        for _ in 0..HOOK_THREADS {
            // Slots are numbered by the threads actually running, so a
            // thread that failed to start leaves no idle-looking slot.
            let index = started;
            let receiver = Arc::clone(&receiver);
            let slots = Arc::clone(&running);
            lock(&running).push(None);
            let spawned = std::thread::Builder::new()
                .name(format!("hooks-{index}"))
                .spawn(move || work(index, &receiver, &slots));
            match spawned {
                Ok(_) => started += 1,
                Err(err) => {
                    lock(&running).pop();
                    tracing::error!("could not start a hook thread: {err}");
                }
            }
        }
        Pool {
            queue: (started > 0).then_some(sender),
            running,
        }
    }

    /// Queues `task` for the event ending at `deadline`.
    pub fn submit(&self, deadline: Instant, task: Task) -> Result<(), SubmitError> {
        let Some(queue) = &self.queue else {
            return Err(SubmitError::NoThreads);
        };
        let now = Instant::now();
        let all_stuck = lock(&self.running)
            .iter()
            .all(|slot| matches!(slot, Some(d) if now > *d + STUCK_AFTER));
        if all_stuck {
            return Err(SubmitError::Stuck);
        }
        match queue.try_send(Job { deadline, task }) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(SubmitError::QueueFull),
            Err(TrySendError::Disconnected(_)) => Err(SubmitError::NoThreads),
        }
    }
}

/// One hook thread: takes jobs until the queue closes.
fn work(index: usize, receiver: &Mutex<Receiver<Job>>, running: &Mutex<Vec<Option<Instant>>>) {
    loop {
        // Held only while waiting: the other threads queue on the lock
        // instead of on the channel, which is the same thing.
        let job = lock(receiver).recv();
        let Ok(job) = job else {
            return;
        };
        if Instant::now() >= job.deadline {
            tracing::warn!(
                "an event waited for a free hook thread until its hook time ran out; \
                 its handlers were skipped"
            );
            continue;
        }
        set_slot(running, index, Some(job.deadline));
        // The tasks catch their own panics; this only keeps the thread alive
        // if one slips through.
        if catch_unwind(AssertUnwindSafe(job.task)).is_err() {
            tracing::error!("internal error (panic) on a hook thread");
        }
        set_slot(running, index, None);
    }
}

fn set_slot(running: &Mutex<Vec<Option<Instant>>>, index: usize, value: Option<Instant>) {
    if let Some(slot) = lock(running).get_mut(index) {
        *slot = value;
    }
}

/// The data behind these locks is a plain value per slot or the queue's
/// receiver, valid whatever a panicking holder was doing.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[test]
    fn runs_jobs_and_drops_expired_ones() {
        let pool = Pool::start();
        let (done, results) = channel();
        let later = Instant::now() + Duration::from_secs(5);
        let sender = done.clone();
        pool.submit(later, Box::new(move || sender.send(1).unwrap()))
            .unwrap();
        assert_eq!(results.recv_timeout(Duration::from_secs(5)), Ok(1));
        // Already past its deadline: dropped unrun, so its sender closes.
        let (answer, answered) = channel::<i32>();
        pool.submit(
            Instant::now() - Duration::from_millis(1),
            Box::new(move || answer.send(2).unwrap()),
        )
        .unwrap();
        assert!(answered.recv_timeout(Duration::from_secs(5)).is_err());
    }

    #[test]
    fn a_pool_of_stuck_threads_refuses_at_once() {
        let pool = Pool::start();
        let (release, released) = channel::<()>();
        let released = Arc::new(Mutex::new(released));
        let (started, running) = channel();
        // Each job's deadline is already close; they then overstay it.
        let deadline = Instant::now() + Duration::from_millis(20);
        for _ in 0..HOOK_THREADS {
            let released = Arc::clone(&released);
            let started = started.clone();
            pool.submit(
                deadline,
                Box::new(move || {
                    started.send(()).unwrap();
                    let _ = lock(&released).recv();
                }),
            )
            .unwrap();
        }
        for _ in 0..HOOK_THREADS {
            running.recv_timeout(Duration::from_secs(5)).unwrap();
        }
        std::thread::sleep(Duration::from_millis(20) + STUCK_AFTER * 2);
        let later = Instant::now() + Duration::from_secs(5);
        assert_eq!(pool.submit(later, Box::new(|| {})), Err(SubmitError::Stuck));
        drop(release);
    }
}
