//! One claimed task, start to end: the executor on its own task (with the live transcript
//! beside it), then — on a fresh clock, even after a cancel or shutdown — the final transcript
//! and the terminal status that points at it.

use super::live::{self, Live};
use super::revise::Begun;
use super::tasks::{self, Terminal};
use super::{WorkerConfig, WorkerEvent, endpoint, secret, transcript};
use crate::api::{Agent, AgenticTask};
use crate::executor::outcome::{Precondition, precondition_failed};
use crate::executor::run::{ExecEvent, ExecutorConfig, RunReport, execute_with};
use crate::executor::{ResultEnvelope, outcome};
use crate::fleet::TaskKey;
use crate::fleet::decision::MARK_KEY;
use crate::k8s::Cluster;
use crate::workspace::auth::redact_url;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinHandle};

/// The condition reason and message of a run stopped from outside (cancel, shutdown).
type AbortReason = Arc<Mutex<Option<(String, String)>>>;

/// The run in progress.
pub(super) struct Current {
    pub key: TaskKey,
    /// The operator's notes to this run (`WorkerCommand::Note`), read before each turn.
    pub notes: crate::agent::Inbox,
    exec: AbortHandle,
    /// Set before aborting `exec`: the reason and message of the terminal status.
    abort_reason: AbortReason,
    finisher: JoinHandle<()>,
}

impl Current {
    /// Stops the executor; the terminal status says `reason` and `message`.
    pub fn abort(&self, reason: &str, message: String) {
        *self.abort_reason.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((reason.into(), message));
        self.exec.abort();
    }

    /// Stops the run and waits (at most `budget`) for its terminal status to land.
    pub async fn stop(self, reason: &str, message: String, budget: Duration) {
        self.abort(reason, message);
        let _ = tokio::time::timeout(budget, self.finisher).await;
    }
}

/// What a run does: the first run of a claimed task, or a revision the operator asked for.
pub(super) enum Job {
    First,
    Revise(Box<Begun>),
}

/// Starts the run of a claimed (or begun) task; `done` hears its key once the terminal
/// status is written.
pub(super) fn start(
    cluster: &Cluster,
    cfg: &WorkerConfig,
    task: AgenticTask,
    job: Job,
    sink: mpsc::UnboundedSender<WorkerEvent>,
    done: mpsc::UnboundedSender<TaskKey>,
) -> Current {
    let key = TaskKey::of(&task);
    let (live, keep) = match &job {
        // A decision mark on the task (a crashed revision re-run) stays done in its Result.
        Job::First => (
            Live::default(),
            crate::fleet::status::result_extra(&task)
                .other
                .get(MARK_KEY)
                .cloned(),
        ),
        Job::Revise(b) => (Live::seeded(&b.previous), Some(b.mark.clone())),
    };
    let live = Arc::new(live);
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &key.namespace);
    let writer = tokio::spawn(live::stream(
        cms.clone(),
        task.clone(),
        live.clone(),
        cfg.transcript_every,
    ));
    let notes = crate::agent::Inbox::default();
    let exec = tokio::spawn(execute_task(
        cluster.clone(),
        cfg.clone(),
        task.clone(),
        (job, notes.clone()),
        sink.clone(),
        live.clone(),
    ));
    let abort_reason = AbortReason::default();
    let finish = Finish {
        cfg: cfg.clone(),
        key: key.clone(),
        task,
        live,
        cms,
        tasks: Api::namespaced(cluster.client.clone(), &key.namespace),
        abort_reason: abort_reason.clone(),
        keep,
        sink,
        done,
    };
    Current {
        key,
        notes,
        exec: exec.abort_handle(),
        abort_reason,
        finisher: tokio::spawn(finish.run(exec, writer)),
    }
}

/// What the end of a run needs once the executor is done (or aborted).
struct Finish {
    cfg: WorkerConfig,
    key: TaskKey,
    task: AgenticTask,
    live: Arc<Live>,
    cms: Api<ConfigMap>,
    tasks: Api<AgenticTask>,
    abort_reason: AbortReason,
    /// The task's decision mark (a revision's done one), kept in its Result
    /// (`extra.decision`): a Result without it would make that decision look pending again.
    keep: Option<serde_json::Value>,
    sink: mpsc::UnboundedSender<WorkerEvent>,
    done: mpsc::UnboundedSender<TaskKey>,
}

impl Finish {
    /// Waits for the executor, then writes the final transcript and the status pointing at it.
    async fn run(self, exec: JoinHandle<Result<RunReport, String>>, writer: JoinHandle<()>) {
        let joined = exec.await;
        writer.abort();
        let aborted = self
            .abort_reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let budget = if aborted.is_some() {
            self.cfg.shutdown_budget
        } else {
            self.cfg.terminal_budget
        };
        let cm_ok = self.final_transcript(budget).await;
        let terminal = match (joined, aborted) {
            (_, Some((reason, message))) => Terminal::Failed { reason, message },
            (Ok(Ok(rep)), None) => Terminal::Result {
                result: Box::new(self.envelope(rep, cm_ok)),
                transcript_ref: cm_ok.then(|| transcript::status_ref(&self.key.name)),
            },
            (Ok(Err(msg)), None) => Terminal::executor_error(msg),
            (Err(e), None) => {
                Terminal::executor_error(format!("the executor stopped unexpectedly: {e}"))
            }
        };
        let outcome = tasks::write_terminal(&self.tasks, &self.key, &terminal, budget)
            .await
            .map(|t| {
                t.status
                    .and_then(|s| s.verdict)
                    .map_or("Failed", |v| v.as_str())
                    .to_string()
            });
        if let Err(e) = &outcome {
            tracing::error!(task = %self.key, "{e}");
        }
        let _ = self.sink.send(WorkerEvent::Finished {
            task: self.key.clone(),
            outcome,
        });
        let _ = self.done.send(self.key);
    }

    /// The Result as the cluster sees it, with the task's decision mark.
    fn envelope(&self, rep: RunReport, cm_ok: bool) -> ResultEnvelope {
        let mut env = cluster_envelope(&self.key, rep, cm_ok);
        if let Some(mark) = &self.keep {
            env.extra.other.insert(MARK_KEY.into(), mark.clone());
        }
        env
    }

    /// The whole transcript, once more; whether it landed (the Result points at it only then).
    async fn final_transcript(&self, budget: Duration) -> bool {
        let Some(cm) = self.live.configmap(&self.task) else {
            return false;
        };
        match tokio::time::timeout(budget, live::upsert_retrying(&self.cms, cm)).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::warn!(task = %self.key, "transcript ConfigMap write failed: {e}");
                false
            }
            Err(_) => {
                tracing::warn!(task = %self.key, "transcript ConfigMap write timed out");
                false
            }
        }
    }
}

/// The Result as the cluster sees it: `transcriptRef` points at the ConfigMap (or is null
/// when that write failed), and a GO awaiting approval says where its clone is.
fn cluster_envelope(key: &TaskKey, rep: RunReport, cm_ok: bool) -> ResultEnvelope {
    let journal = rep.journal.display().to_string();
    let mut env = crate::executor::terminal::envelope_of(rep);
    if env.extra.transcript_ref.is_some() {
        env.extra.transcript_ref = Some(if cm_ok {
            transcript::transcript_ref(&key.namespace, &key.name)
        } else {
            serde_json::Value::Null
        });
    }
    env.extra.journal = Some(journal);
    env
}

/// Agent lookup, endpoint resolution and the executor (a first run, or the revision). `Ok`
/// is a Result envelope (any outcome, including preconditions); `Err` is an executor error.
async fn execute_task(
    cluster: Cluster,
    cfg: WorkerConfig,
    task: AgenticTask,
    (job, notes): (Job, crate::agent::Inbox),
    sink: mpsc::UnboundedSender<WorkerEvent>,
    live: Arc<Live>,
) -> Result<RunReport, String> {
    let attempt = match &job {
        Job::First => 1,
        Job::Revise(b) => b.attempt,
    };
    let pre = Preflight::new(&cfg, &task, &sink, attempt);
    if let (Job::First, Some(d)) = (&job, cfg.stub_sleep) {
        return Ok(pre.stub(&task, d).await);
    }
    let mut agent = match &job {
        Job::Revise(b) => b.agent.clone(),
        Job::First => match pre.agent(&cluster, &task).await? {
            Ok(a) => a,
            Err(early) => return Ok(early),
        },
    };
    cfg.agent_defaults.apply_to(&mut agent);
    let cloud = secret::is_cloud_proxy(&agent);
    // A cloud proxy's URL is its providerConfig.baseURL, which the executor resolves.
    let base_url = match cloud {
        true => String::new(),
        false => match pre.endpoint(&cluster, &agent, &cfg).await {
            Ok(u) => u,
            Err(early) => return Ok(early),
        },
    };
    let provider_key = secret::provider_key(&cluster.client, &pre.key.namespace, &agent).await;
    let exec_cfg = ExecutorConfig {
        base_url,
        git_remote_url: cfg.git_remote_url.clone(),
        workspace_root: cfg.workspace_root.clone(),
        namespace: pre.key.namespace.clone(),
        keep_workspace: cfg.keep_workspace,
        identity: cfg.identity.clone(),
        push_now: cfg.push_now,
        journal_path: pre.journal.clone(),
        token: cfg.token.clone(),
        sandbox: cfg.sandbox.clone(),
        provider_key,
        github_api_base: cfg.github_api_base.clone(),
    };
    let mut on_event = |ev: ExecEvent| {
        live.record(&ev);
        pre.send(ev);
    };
    let inbox = notes.clone();
    let ran = match &job {
        Job::First => execute_with(&task, &agent, &exec_cfg, notes, &mut on_event).await,
        Job::Revise(b) => {
            crate::executor::revise(&task, &agent, &exec_cfg, &b.revision, notes, &mut on_event)
                .await
        }
    };
    let unread = inbox.close();
    if !unread.is_empty() {
        let key = crate::fleet::TaskKey::of(&task);
        let _ = sink.send(WorkerEvent::Error(crate::agent::notes::unread_notice(
            unread.len(),
            &key,
        )));
    }
    ran.map_err(|e| e.to_string())
}

/// What the worker does before the executor: the Agent and the model endpoint.
struct Preflight<'a> {
    key: TaskKey,
    journal: PathBuf,
    started: Instant,
    sink: &'a mpsc::UnboundedSender<WorkerEvent>,
}

impl<'a> Preflight<'a> {
    /// The preflight of attempt `attempt` (each attempt has a journal of its own).
    fn new(
        cfg: &WorkerConfig,
        task: &AgenticTask,
        sink: &'a mpsc::UnboundedSender<WorkerEvent>,
        attempt: u32,
    ) -> Preflight<'a> {
        let key = TaskKey::of(task);
        let file = match attempt {
            0 | 1 => format!("{}.jsonl", key.name),
            n => format!("{}.attempt-{n}.jsonl", key.name),
        };
        let journal = cfg.journal_dir.join(&key.namespace).join(file);
        Preflight {
            key,
            journal,
            started: Instant::now(),
            sink,
        }
    }

    fn send(&self, event: ExecEvent) {
        let _ = self.sink.send(WorkerEvent::Run {
            task: self.key.clone(),
            event,
        });
    }

    fn status(&self, s: String) {
        self.send(ExecEvent::Status(s));
    }

    fn report(&self, result: ResultEnvelope) -> RunReport {
        RunReport {
            result,
            pending_push: None,
            journal: self.journal.clone(),
        }
    }

    /// A precondition Result: the run ends before the executor.
    fn early(&self, reason: Precondition, msg: &str) -> RunReport {
        let elapsed = self.started.elapsed().as_secs_f64();
        self.report(precondition_failed(reason, msg, elapsed))
    }

    /// Upstream's stub executor (`--agent-mode stub`): sleeps, then GO.
    async fn stub(&self, task: &AgenticTask, d: Duration) -> RunReport {
        self.status(format!("stub executor: sleeping {}s", d.as_secs_f64()));
        tokio::time::sleep(d).await;
        self.report(stub_result(task, self.started.elapsed().as_secs_f64()))
    }

    /// The task's Agent. `Ok(Err)`: it names none or it does not exist (AgentNotFound);
    /// `Err`: the apiserver could not be read (an executor error).
    async fn agent(
        &self,
        cluster: &Cluster,
        task: &AgenticTask,
    ) -> Result<Result<Agent, RunReport>, String> {
        let name = task.spec.agent_ref.as_ref().map(|r| r.name.clone());
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return Ok(Err(self.early(
                Precondition::AgentNotFound,
                "the task has no spec.agentRef; the native executor needs an Agent",
            )));
        };
        let agents: Api<Agent> = Api::namespaced(cluster.client.clone(), &self.key.namespace);
        match agents.get_opt(&name).await {
            Ok(Some(mut a)) => {
                // Extension fields a cluster with upstream's CRDs pruned from the spec.
                match crate::api::extensions::restore(&mut a) {
                    Ok(r) if !r.is_empty() => self.status(format!(
                        "Agent {name:?}: {} read from its {} annotation",
                        r.join(", "),
                        crate::api::extensions::ANNOTATION
                    )),
                    Ok(_) => {}
                    Err(e) => self.status(format!("Agent {name:?}: {e}; running without them")),
                }
                Ok(Ok(a))
            }
            Ok(None) => Ok(Err(self.early(
                Precondition::AgentNotFound,
                &format!(
                    "Agent {name:?} not found in namespace {:?}",
                    self.key.namespace
                ),
            ))),
            Err(e) => Err(format!("cannot read Agent {name:?}: {e}")),
        }
    }

    /// The inference base URL for `agent`; `Err` is the InferenceServiceUnavailable Result.
    async fn endpoint(
        &self,
        cluster: &Cluster,
        agent: &Agent,
        cfg: &WorkerConfig,
    ) -> Result<String, RunReport> {
        self.status("resolving the inference endpoint".into());
        let resolved =
            endpoint::resolve(&cluster.client, &self.key.namespace, agent, &cfg.endpoint).await;
        let url =
            resolved.map_err(|msg| self.early(Precondition::InferenceServiceUnavailable, &msg))?;
        self.status(format!("inference at {}", redact_url(&url)));
        Ok(url)
    }
}

/// Upstream's stub executor: no model, no git; echoes `modelRef`.
fn stub_result(task: &AgenticTask, elapsed: f64) -> ResultEnvelope {
    let mut extra = crate::fleet::extra::ResultExtra::default();
    // Upstream's stub echoes it; not a key this console reads.
    extra.other.insert(
        "modelRef".into(),
        task.spec
            .model_ref
            .clone()
            .map_or(serde_json::Value::Null, Into::into),
    );
    ResultEnvelope {
        schema_version: outcome::RESULT_SCHEMA.into(),
        kind: "stub".into(),
        verdict: "GO".into(),
        failure_reason: None,
        summary: format!("stub executor finished after {elapsed:.1}s"),
        extra,
        elapsed_sec: elapsed,
    }
}
