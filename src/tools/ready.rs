//! Whether a registry's workspace is there yet. The executor sends the first chat request
//! while the clone runs (the first prompt needs no tree), so the model's first reply can
//! arrive before the clone is done: every tool call waits here for the set-up to end, and
//! a set-up that failed ends the call with its reason (the executor ends the run anyway).

use tokio::sync::watch;

/// What the set-up ended with; `None` while it runs.
type Outcome = Option<Result<(), String>>;

/// The set-up's end of the channel: says once that the workspace is ready, or why not.
/// Dropped without saying, it reads as a failed set-up.
#[derive(Debug)]
pub struct ReadySignal(watch::Sender<Outcome>);

/// The tools' end: waits for the set-up.
#[derive(Clone, Debug)]
pub struct ReadyGate(watch::Receiver<Outcome>);

/// A gate and the signal that opens it.
pub fn ready_gate() -> (ReadySignal, ReadyGate) {
    let (tx, rx) = watch::channel(None);
    (ReadySignal(tx), ReadyGate(rx))
}

impl ReadySignal {
    /// The workspace is cloned and on its branch.
    pub fn ready(self) {
        self.0.send_replace(Some(Ok(())));
    }

    /// The set-up failed: every waiting call ends with `why`.
    pub fn failed(self, why: impl Into<String>) {
        self.0.send_replace(Some(Err(why.into())));
    }
}

impl ReadyGate {
    /// Already open (no wait, no span).
    pub fn is_open(&self) -> bool {
        matches!(*self.0.borrow(), Some(Ok(())))
    }

    /// Waits until the set-up ends: `Err` says why there is no workspace.
    pub async fn wait(&self) -> Result<(), String> {
        let mut rx = self.0.clone();
        match rx.wait_for(Option::is_some).await {
            Ok(v) => v.clone().unwrap_or(Ok(())),
            Err(_) => Err("the workspace set-up ended without a workspace".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_call_waits_until_the_signal_says_ready() {
        let (signal, gate) = ready_gate();
        assert!(!gate.is_open());
        let waiter = tokio::spawn({
            let gate = gate.clone();
            async move { gate.wait().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !waiter.is_finished(),
            "the call went on before the workspace was ready"
        );
        signal.ready();
        assert_eq!(waiter.await.expect("joins"), Ok(()));
        assert!(gate.is_open());
        // Later calls pass straight through.
        assert_eq!(gate.wait().await, Ok(()));
    }

    #[tokio::test]
    async fn a_failed_or_abandoned_set_up_ends_the_wait_with_why() {
        let (signal, gate) = ready_gate();
        signal.failed("clone failed: 404");
        assert_eq!(gate.wait().await, Err("clone failed: 404".to_string()));
        let (signal, gate) = ready_gate();
        drop(signal);
        let err = gate.wait().await.expect_err("no workspace");
        assert!(err.contains("without a workspace"), "{err}");
    }
}
