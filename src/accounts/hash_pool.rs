//! The threads password hashes run on: a fixed set, one per hashing slot.
//! Each scrypt call takes 128·N·r bytes of scratch memory (16 MiB at
//! SillyTavern's cost); glibc keeps freed memory in the arena of the thread
//! that used it, so hashes spread over the runtime's many blocking threads
//! would leave that much behind in each. On these few threads it stays
//! bounded by the slot count.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

type Job = Box<dyn FnOnce() + Send>;

pub struct HashPool {
    size: usize,
    /// Started on first use, so commands that never hash start no thread.
    /// The threads end when the pool (its sender) is dropped.
    jobs: OnceLock<Option<mpsc::Sender<Job>>>,
}

impl HashPool {
    pub fn new(size: usize) -> HashPool {
        HashPool {
            size: size.max(1),
            jobs: OnceLock::new(),
        }
    }

    /// Runs `f` on a pool thread; None when it panicked or no thread could
    /// be started.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(out.ok());
        });
        self.sender()?.send(job).ok()?;
        rx.await.ok().flatten()
    }

    fn sender(&self) -> Option<&mpsc::Sender<Job>> {
        self.jobs
            .get_or_init(|| {
                let (tx, rx) = mpsc::channel::<Job>();
                let rx = Arc::new(Mutex::new(rx));
                let mut started = 0;
                for i in 0..self.size {
                    let rx = rx.clone();
                    let spawned = std::thread::Builder::new()
                        .name(format!("innkeeper-hash-{i}"))
                        .spawn(move || loop {
                            let job = match rx.lock() {
                                Ok(rx) => rx.recv(),
                                Err(_) => return,
                            };
                            match job {
                                Ok(job) => job(),
                                Err(_) => return,
                            }
                        });
                    match spawned {
                        Ok(_) => started += 1,
                        Err(e) => tracing::error!("cannot start a password-hashing thread: {e}"),
                    }
                }
                (started > 0).then_some(tx)
            })
            .as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_on_its_own_threads_and_survives_a_panic() {
        let pool = HashPool::new(2);
        let name = pool
            .run(|| std::thread::current().name().map(str::to_string))
            .await
            .flatten()
            .unwrap();
        assert!(name.starts_with("innkeeper-hash-"), "{name}");
        assert_eq!(pool.run(|| -> u8 { panic!("boom") }).await, None);
        assert_eq!(pool.run(|| 7).await, Some(7), "the threads live on");
    }
}
