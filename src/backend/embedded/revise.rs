//! Request changes on the embedded backend (issue 12): the checks before a revision may start
//! (shared with `foreman review`, which runs one in its own process), the store's move to
//! attempt N+1, and the revision run itself, launched and streamed exactly like a first run
//! (the running map, the notes inbox, `finished`).

use super::runner::Runner;
use super::store::attempt_of;
use super::{EmbeddedConfig, Store};
use crate::api::{Agent, AgenticTask};
use crate::backend::{BackendEvent, jobs};
use crate::executor::ExecutorConfig;
use crate::executor::review::{self, Revision};
use crate::fleet::status::result_extra;
use crate::fleet::{TaskKey, TaskState, task_state};
use std::path::PathBuf;

/// A revision ready to run: the task, claimed as attempt `attempt`, its Agent and the request.
pub struct Prepared {
    pub task: AgenticTask,
    pub agent: Agent,
    pub revision: Revision,
    pub attempt: u32,
}

/// Checks a request for changes on `key` and, when it may run, archives the reviewed attempt
/// and claims the task for the next one on `node` ([`Store::begin_revision`]). Refused with
/// the reason and nothing written: empty feedback, no such task, not awaiting approval, no
/// Agent, over `maxReviewIterations`, a workspace no longer at the GO commit. Blocking (a git2
/// read of the workspace's HEAD, one SQLite transaction): fast, so the actor calls it inline.
pub fn prepare(
    store: &mut Store,
    key: &TaskKey,
    feedback: &str,
    node: &str,
) -> Result<Prepared, String> {
    let feedback = feedback.trim();
    if feedback.is_empty() {
        return Err("empty feedback is not sent; say what to change".into());
    }
    let t = store
        .task(key)
        .cloned()
        .ok_or_else(|| format!("no task {key} in the local state"))?;
    let state = task_state(&t);
    if state != TaskState::AwaitingApproval {
        return Err(format!(
            "{key} is {state:?}; changes can be requested only on a GO awaiting approval"
        ));
    }
    let agent = agent_of(store, &t, key)?;
    let iteration = review::next_iteration(&result_extra(&t).other);
    review::check_limit(&agent, iteration)?;
    let pending = jobs::pending_push(&t)?;
    review::ready(&pending)?;
    let previous_journal = t
        .status
        .as_ref()
        .and_then(|s| s.transcript_ref.clone())
        .map(PathBuf::from)
        .unwrap_or_else(|| store.journal_path_of(key, attempt_of(&t)));
    let (task, attempt) = store.begin_revision(key, node).map_err(|e| e.to_string())?;
    Ok(Prepared {
        task,
        agent,
        revision: Revision {
            pending,
            previous_journal,
            feedback: feedback.to_string(),
            iteration,
        },
        attempt,
    })
}

fn agent_of(store: &Store, t: &AgenticTask, key: &TaskKey) -> Result<Agent, String> {
    let name = t
        .spec
        .agent_ref
        .as_ref()
        .map(|r| r.name.clone())
        .ok_or_else(|| format!("{key} names no Agent (spec.agentRef)"))?;
    store.agent(&key.namespace, &name).cloned().ok_or_else(|| {
        format!(
            "the Agent {}/{name} of {key} is not in the state",
            key.namespace
        )
    })
}

/// The executor settings of attempt `attempt` of `key` on this machine, the same for a first
/// run and a revision: a GO pushed at once keeps its clone for "open PR"; otherwise the
/// executor keeps it only while a push awaits approval.
pub fn exec_config(
    cfg: &EmbeddedConfig,
    store: &Store,
    key: &TaskKey,
    attempt: u32,
) -> ExecutorConfig {
    ExecutorConfig {
        base_url: cfg.base_url.clone(),
        git_remote_url: cfg.git_remote_url.clone(),
        workspace_root: store.workspace_root(),
        namespace: key.namespace.clone(),
        keep_workspace: cfg.auto_push,
        identity: cfg.identity.clone(),
        push_now: cfg.auto_push,
        journal_path: store.journal_path_of(key, attempt),
        token: cfg.token.clone(),
        sandbox: cfg.sandbox.clone(),
        provider_key: Default::default(),
        github_api_base: Some(cfg.github_api_base.clone()),
    }
}

impl Runner {
    /// `Command::RequestChanges`: the revision starts at once (it needs no scheduling: the
    /// task keeps its workspace on this machine) or is refused with the reason.
    pub(super) fn request_changes(&mut self, key: TaskKey, feedback: String) {
        if self.running.contains_key(&key) || self.jobs.contains(&key) {
            return self.emit(BackendEvent::Error(format!(
                "{key}: a run or a push of this task is going; request changes after it ends"
            )));
        }
        let node = self.cfg.node_name.clone();
        let p = match prepare(&mut self.store, &key, &feedback, &node) {
            Ok(p) => p,
            Err(e) => return self.emit(BackendEvent::Error(format!("request changes: {e}"))),
        };
        self.emit(BackendEvent::TaskUpdated(Box::new(p.task.clone())));
        self.emit(BackendEvent::Notice(format!(
            "{key}: review {} started as attempt {}",
            p.revision.iteration, p.attempt
        )));
        let cfg = exec_config(&self.cfg, &self.store, &key, p.attempt);
        let sink = self.run_sink(&key);
        let inbox = crate::agent::Inbox::default();
        let notes = inbox.clone();
        // A free slot pins it; with every slot held it runs unpinned (it is not queued).
        let slot = self.slot_for(&key);
        let handle = tokio::spawn(async move {
            let mut f = |ev| sink.send(ev);
            let (rev, agent) = (&p.revision, &p.agent);
            let res =
                crate::executor::revise_pinned(&p.task, agent, &cfg, rev, notes, slot, &mut f)
                    .await
                    .map_err(|e| e.to_string());
            sink.finished(res);
        });
        self.track(key, inbox, handle);
    }
}
