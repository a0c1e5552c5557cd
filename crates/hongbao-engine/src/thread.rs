//! A thread of its own for the writer and for its commits ([`OwnThread`]).

use tokio::sync::oneshot;

use crate::config::EngineError;

/// A thread of its own, with a runtime of one thread, for the writer and for its commits.
///
/// The writer waits on the store between every step of a batch, and the pipeline waits on the
/// hand-over from one commit to the next (the next batch is ready and waits for the one before
/// to land; the writer's connection is idle until it begins). On the shared runtime each of those
/// wake-ups is one among the clients' tasks, all runnable on two cores (measured: about 2 ms
/// between one commit and the next on SQLite). On a thread of its own, which sleeps while the
/// database works, the task runs as soon as it wakes: PostgreSQL `hot` via engine 15 569 and
/// 15 932 claims/s on the shared runtime, 16 563 and 16 553 with the writer on its own thread.
pub(crate) struct OwnThread {
    pub(crate) handle: tokio::runtime::Handle,
    /// Dropped with the writer: the thread's runtime then stops and the thread ends.
    pub(crate) _stop: oneshot::Sender<()>,
}

impl OwnThread {
    /// On a runtime of several threads. On a runtime of one thread (the fault simulation's,
    /// which must replay exactly from its seed) the writer and its commits stay on it.
    pub(crate) fn wanted() -> bool {
        tokio::runtime::Handle::current().runtime_flavor() != tokio::runtime::RuntimeFlavor::CurrentThread
    }

    pub(crate) fn start(name: &str) -> Result<OwnThread, EngineError> {
        let failed = |e: std::io::Error| EngineError::Unavailable(format!("cannot start the thread {name}: {e}"));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(failed)?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let _ = runtime.block_on(stopped);
            })
            .map_err(failed)?;
        Ok(OwnThread { handle, _stop: stop })
    }
}
