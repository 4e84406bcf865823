//! The live transcript of the run in progress: the executor records each message here, and a
//! writer task mirrors it into the transcript ConfigMap at most every `transcript_every`, so
//! `kubectl` and other consoles can follow the run.

use super::tasks::api_code;
use super::transcript;
use crate::agent::LoopEvent;
use crate::api::AgenticTask;
use crate::executor::run::ExecEvent;
use crate::oai::Message;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Messages of the run so far, shared by the executor and the transcript writer.
#[derive(Default)]
pub(super) struct Live {
    conversation: Mutex<Conversation>,
    changed: Notify,
}

#[derive(Default)]
struct Conversation {
    messages: Vec<Message>,
    turns: u32,
}

impl Live {
    /// A live transcript that starts with `previous` (a revision resumes that conversation,
    /// so its ConfigMap is the whole of it, as its journal is).
    pub fn seeded(previous: &[(u32, Message)]) -> Live {
        let live = Live::default();
        {
            let mut c = live.lock();
            c.messages = previous.iter().map(|(_, m)| m.clone()).collect();
            c.turns = previous.iter().map(|(t, _)| *t).max().unwrap_or(0);
        }
        live
    }

    /// Keeps a message the run appended, and wakes the writer.
    pub fn record(&self, ev: &ExecEvent) {
        if let ExecEvent::Loop(LoopEvent::Message { turn, message }) = ev {
            let mut c = self.lock();
            c.messages.push(message.clone());
            c.turns = c.turns.max(*turn);
            drop(c);
            self.changed.notify_one();
        }
    }

    /// The ConfigMap of the conversation so far; `None` before the first message.
    pub fn configmap(&self, task: &AgenticTask) -> Option<ConfigMap> {
        let c = self.lock();
        (!c.messages.is_empty()).then(|| transcript::build(task, &c.messages, c.turns))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Conversation> {
        self.conversation.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Writes the live transcript at most every `every` while the run goes on (until aborted).
pub(super) async fn stream(
    api: Api<ConfigMap>,
    task: AgenticTask,
    live: Arc<Live>,
    every: Duration,
) {
    let mut last = Instant::now() - every;
    loop {
        live.changed.notified().await;
        let wait = every.saturating_sub(last.elapsed());
        tokio::time::sleep(wait).await;
        last = Instant::now();
        let Some(cm) = live.configmap(&task) else {
            continue;
        };
        if let Err(e) = transcript::upsert(&api, cm).await {
            tracing::debug!("live transcript write failed (retried on the next change): {e}");
        }
    }
}

/// The final transcript write: conflicts and outages are retried (the caller bounds the time).
pub(super) async fn upsert_retrying(
    api: &Api<ConfigMap>,
    cm: ConfigMap,
) -> Result<(), kube::Error> {
    let mut delay = Duration::from_millis(200);
    loop {
        match transcript::upsert(api, cm.clone()).await {
            Ok(()) => return Ok(()),
            Err(e) if api_code(&e).is_some_and(|c| c != 409 && c < 500) => return Err(e),
            Err(e) => {
                tracing::debug!("transcript write failed, retrying: {e}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}
