//! The loop's rounds up to a GO commit the operator can approve (issue 12): the model's
//! verdict, the commit, and the coder gate. A failed gate under `onFail: retry` hands its
//! output back to the model as a user message and the conversation goes on (its next GO adds a
//! commit on top), up to `maxAttempts` gate runs; `onFail: stop` ends with `CODER-GATE-FAILED`.

use super::super::gate::{self, failure_line, gate_of, retry_message};
use super::super::outcome::{self, ResultEnvelope};
use super::{After, ExecEvent, ExecutorError, Run, RunReport, Submitted};
use crate::agent::Resume;
use crate::agent::transcript::{Journal, Record};
use crate::api::AgentRole;
use crate::api::gate::{CoderGate, GATE_EXTRA, GateOnFail, GateRun, GateStatus};
use crate::oai::{Client, Message};
use crate::tools::{ModelVerdict, Registry, Submission};

/// What one round of the loop starts from.
pub(super) struct Round {
    /// Messages this round adds (reported and journalled).
    pub opening: Vec<Message>,
    /// The conversation so far (empty in the first round).
    pub resume: Resume,
}

/// A GO commit ready to push or approve, with the gate's last run (None: no gate).
pub(super) struct Committed {
    pub sub: Submission,
    pub turns: u32,
    pub sha: String,
    pub gate: Option<GateRun>,
}

/// What a gate run decides.
enum Next {
    Done(Box<Result<Committed, RunReport>>),
    Retry(String),
}

impl Run<'_> {
    /// Rounds until a GO commit passes the gate (or there is none), or the run ends
    /// without one.
    pub(super) async fn rounds(
        &self,
        client: &Client,
        registry: &Registry,
        ctx: &After<'_>,
        journal: &mut Journal,
        sink: &mut (dyn FnMut(ExecEvent) + Send),
    ) -> Result<Result<Committed, RunReport>, ExecutorError> {
        let first = Round {
            opening: super::super::loop_setup::opening(
                self.task,
                self.agent,
                ctx.branch,
                ctx.issue_prompt,
            ),
            resume: Resume {
                notes: Some(self.notes.clone()),
                ..Resume::default()
            },
        };
        self.rounds_from(client, registry, ctx, first, None, journal, sink)
            .await
    }

    /// [`Run::rounds`] from `round`; `last_sha` is the commit already made (a request for
    /// changes resumes from the reviewed GO commit), so a GO that changes nothing more keeps
    /// it instead of ending NO-CHANGES.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn rounds_from(
        &self,
        client: &Client,
        registry: &Registry,
        ctx: &After<'_>,
        mut round: Round,
        mut last_sha: Option<String>,
        journal: &mut Journal,
        sink: &mut (dyn FnMut(ExecEvent) + Send),
    ) -> Result<Result<Committed, RunReport>, ExecutorError> {
        let gate = gate_of(self.task, self.agent);
        let mut attempt = 0;
        loop {
            let (end, history) = self
                .agent_loop(client, registry, round, journal, sink)
                .await?;
            let Submitted { sub, turns } = match end {
                Ok(s) => s,
                Err(rep) => return Ok(Err(rep)),
            };
            if sub.verdict != ModelVerdict::Go || self.agent.spec.role == AgentRole::Reviewer {
                return Ok(Err(self.model_decided(&sub, turns)));
            }
            let sha = match self.commit(&sub, ctx, turns, sink).await? {
                Ok(sha) => sha,
                // A GO after a failed gate (or a review) that changed nothing: the same commit
                // is gated (or reviewed) again.
                Err(rep) if rep.result.outcome() == "NO-CHANGES" && last_sha.is_some() => {
                    last_sha.clone().unwrap_or_default()
                }
                Err(rep) => return Ok(Err(rep)),
            };
            let Some(g) = &gate else {
                return Ok(Ok(Committed {
                    sub,
                    turns,
                    sha,
                    gate: None,
                }));
            };
            attempt += 1;
            let c = Committed {
                sub,
                turns,
                sha: sha.clone(),
                gate: None,
            };
            match self.gate(g, registry, attempt, c, ctx, journal, sink).await {
                Next::Done(end) => return Ok(*end),
                Next::Retry(message) => {
                    last_sha = Some(sha);
                    round = Round {
                        opening: vec![Message::user(message)],
                        resume: Resume {
                            history,
                            turns,
                            notes: Some(self.notes.clone()),
                        },
                    };
                }
            }
        }
    }

    /// One gate run on the commit `c`, journalled and reported, and what its policy makes of
    /// it.
    #[allow(clippy::too_many_arguments)]
    async fn gate(
        &self,
        g: &CoderGate,
        registry: &Registry,
        attempt: u32,
        mut c: Committed,
        ctx: &After<'_>,
        journal: &mut Journal,
        sink: &mut (dyn FnMut(ExecEvent) + Send),
    ) -> Next {
        sink(ExecEvent::Gate(gate::pending(attempt, &c.sha)));
        sink(ExecEvent::Status(format!(
            "gate {attempt}/{}: running {} command(s) on {}",
            g.max_attempts(),
            g.commands.len(),
            &c.sha[..c.sha.len().min(12)]
        )));
        let run = gate::run(g, registry, attempt, &c.sha).await;
        self.tidy_after_gate(sink).await;
        journal.append_or_warn(&Record::Gate(run.clone()));
        sink(ExecEvent::Gate(run.clone()));
        let passed = run.status == GateStatus::Passed;
        sink(ExecEvent::Status(format!("gate {attempt}: {}", run.cell())));
        let failure = failure_line(&run, g);
        let policy = g.on_fail();
        let retry = (!passed && policy == GateOnFail::Retry && attempt < g.max_attempts())
            .then(|| retry_message(&run, g));
        c.gate = Some(run);
        if passed {
            return Next::Done(Box::new(Ok(c)));
        }
        if let Some(message) = retry {
            return Next::Retry(message);
        }
        // Retries used up with an operator to ask: the run awaits approval with the gate
        // failed (approving it needs a second confirmation). Otherwise it ends here.
        if policy == GateOnFail::Retry && !self.cfg.push_now {
            return Next::Done(Box::new(Ok(c)));
        }
        let facts = self.facts(c.turns);
        let mut r = outcome::coder_gate_failed(ctx.branch, &c.sha, &failure, &facts);
        record_gate(&mut r, c.gate.as_ref());
        Next::Done(Box::new(Err(self.report(r))))
    }
}

impl Run<'_> {
    /// Puts the work tree back to the gated commit ([`crate::workspace::tidy`]) and says
    /// what the gate left, so the next commit holds only the model's change.
    async fn tidy_after_gate(&self, sink: &mut (dyn FnMut(ExecEvent) + Send)) {
        let ws = self.workspace.clone();
        let tidied = tokio::task::spawn_blocking(move || {
            let repo = git2::Repository::open(&ws).map_err(|e| e.message().to_string())?;
            crate::workspace::tidy::restore_to_head(&repo).map_err(|e| e.message().to_string())
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
        match tidied {
            Ok(paths) if paths.is_empty() => {}
            Ok(paths) => sink(ExecEvent::Status(format!(
                "the gate left {} file(s) in the workspace ({}): put back to the commit",
                paths.len(),
                few(&paths)
            ))),
            Err(e) => sink(ExecEvent::Status(format!(
                "warning: the workspace could not be put back after the gate: {e}"
            ))),
        }
    }
}

/// The first three paths, then how many more.
fn few(paths: &[String]) -> String {
    let mut s = paths.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
    if paths.len() > 3 {
        s.push_str(&format!(", … {} more", paths.len() - 3));
    }
    s
}

/// Puts the gate's last run into the Result (`extra.gate`).
pub(super) fn record_gate(result: &mut ResultEnvelope, gate: Option<&GateRun>) {
    if let Some(v) = gate.and_then(|g| serde_json::to_value(g).ok()) {
        result.extra.other.insert(GATE_EXTRA.into(), v);
    }
}
