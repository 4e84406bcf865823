//! The set-up (clone, branch) beside the first chat request: two steps of one run at once,
//! reporting to its one sink.

use super::{ExecEvent, Halt};

/// One event from either of two steps running at once, to the run's one sink.
pub(super) fn relay<'a>(
    sink: &std::sync::Mutex<&mut (dyn FnMut(ExecEvent) + Send + 'a)>,
    ev: ExecEvent,
) {
    let mut sink = sink
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    (*sink)(ev)
}

/// Runs `set_up` and `rounds` at once when `beside` (the rounds' tools wait for the set-up at
/// their gate), else one after the other. A failed set-up drops the rounds where they are
/// (the request in flight is cancelled) and decides the outcome, even when the rounds ended
/// first; otherwise both results.
pub(super) async fn overlap<S, R>(
    set_up: impl Future<Output = Result<S, Halt>>,
    rounds: impl Future<Output = R>,
    beside: bool,
) -> (Result<S, Halt>, Option<R>) {
    tokio::pin!(set_up, rounds);
    if !beside {
        return match set_up.await {
            Err(halt) => (Err(halt), None),
            Ok(v) => (Ok(v), Some(rounds.await)),
        };
    }
    let (made, early) = tokio::select! {
        biased;
        made = &mut set_up => (made, None),
        ended = &mut rounds => ((&mut set_up).await, Some(ended)),
    };
    match made {
        Err(halt) => (Err(halt), None),
        Ok(v) => {
            let ended = match early {
                Some(e) => e,
                None => rounds.await,
            };
            (Ok(v), Some(ended))
        }
    }
}
