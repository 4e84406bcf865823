//! The loop (spec §2.2) with three deliberate departures from upstream:
//! - a text-only reply is answered once with a nudge; only a second one in a row ends the run
//!   as `AssistantHallucinatedFinish` (§11.8);
//! - tool-call arguments that are not a JSON object are never echoed back (llama.cpp answers
//!   500 forever on such a history): they are replaced by `{}` and the tool message tells the
//!   model the parse error;
//! - a wall-clock budget (the task's `timeoutSeconds`) bounds the whole loop, tool calls
//!   included: a call still running at the deadline is dropped, which kills its sandbox;
//! - at most `max_tool_calls_per_turn` calls of one reply run; the rest are answered with an
//!   error saying so (issue 9 §4: 500 `sleep` calls in one reply cannot outlast the budget).

use super::context::{Context, ContextConfig};
use super::events::{LoopEvent, TurnStats};
use super::progress::{Decision, Monitor, ProgressConfig, StuckLoop, approx_tokens};
use crate::oai::{Client, Completion, Message, OaiError, StreamEvent, ToolSpec, Usage};
use crate::tools::{Registry, Submission};
use std::time::Instant;

const SUBMIT: &str = "submit_result";

/// Nudge after a text-only reply.
pub const TEXT_ONLY_NUDGE: &str = "You replied with text only. This run only makes progress \
through tool calls: call a tool now, and when you are done call submit_result with your verdict.";

#[derive(Clone, Debug, Default)]
pub struct LoopConfig {
    /// Opening conversation (system, examples, task).
    pub opening: Vec<Message>,
    pub max_turns: u32,
    /// The last this-many turns offer only `submit_result` (0 = off).
    pub converge_turns: u32,
    /// The loop-wide budget, tool calls included; `None` = unbounded.
    pub deadline: Option<tokio::time::Instant>,
    /// Calls of one reply that run; the rest get an error result.
    pub max_tool_calls_per_turn: usize,
    /// The stuck-loop detector's thresholds (all 0 = off).
    pub progress: ProgressConfig,
    /// What of the conversation each request carries.
    pub context: ContextConfig,
}

/// How the loop stopped without an error.
#[derive(Clone, Debug, PartialEq)]
pub enum LoopEnd {
    Submitted(Submission),
    MaxTurnsExhausted,
    HallucinatedFinish,
    BudgetExhausted,
    /// The stuck-loop detector stopped the run after its nudge went unheeded.
    Stuck(StuckLoop),
}

/// Transport or server failure that retries could not absorb: an executor error upstream.
#[derive(Debug, thiserror::Error)]
pub enum LoopError {
    #[error("chat turn {turn} failed: {source}")]
    Chat {
        turn: u32,
        #[source]
        source: OaiError,
    },
}

#[derive(Debug)]
pub struct LoopOutcome {
    pub result: Result<LoopEnd, LoopError>,
    /// Always returned, even on error.
    pub transcript: Vec<Message>,
    /// Chat turns started.
    pub turns: u32,
    pub usage: Usage,
}

/// Runs the loop to its end, reporting every step to `sink`.
pub async fn run_loop(
    client: &Client,
    registry: &Registry,
    cfg: &LoopConfig,
    sink: &mut (dyn FnMut(LoopEvent) + Send),
) -> LoopOutcome {
    run_loop_from(client, registry, cfg, Resume::default(), sink).await
}

/// A conversation a loop continues (a gate failure or the operator's feedback handed back):
/// its messages come first and are not reported again; the turns go on from `turns`, and
/// `cfg.max_turns` bounds the new round, not the whole.
#[derive(Clone, Debug, Default)]
pub struct Resume {
    pub history: Vec<Message>,
    pub turns: u32,
    /// The operator's notes, taken before each chat turn (steering a live run).
    pub notes: Option<super::notes::Inbox>,
}

/// [`run_loop`] continuing `resume`; `cfg.opening` holds what this round adds (reported).
pub async fn run_loop_from(
    client: &Client,
    registry: &Registry,
    cfg: &LoopConfig,
    resume: Resume,
    sink: &mut (dyn FnMut(LoopEvent) + Send),
) -> LoopOutcome {
    let mut run = Run::new(registry, cfg, sink);
    run.resume(resume);
    run.open();
    let result = loop {
        if run.turns - run.base >= cfg.max_turns {
            break Ok(LoopEnd::MaxTurnsExhausted);
        }
        if let Some(end) = run.turn(client).await {
            break end;
        }
    };
    LoopOutcome {
        result,
        transcript: run.transcript,
        turns: run.turns,
        usage: run.usage,
    }
}

/// The conversation and the counters of one loop.
struct Run<'a> {
    registry: &'a Registry,
    cfg: &'a LoopConfig,
    sink: &'a mut (dyn FnMut(LoopEvent) + Send),
    transcript: Vec<Message>,
    tools: Vec<ToolSpec>,
    /// The tools of the converge turns: `submit_result` alone.
    submit_only: Vec<ToolSpec>,
    /// First turn offering only `submit_result` (`u32::MAX`: never).
    converge_from: u32,
    usage: Usage,
    /// The last reply was text only and was answered with the nudge.
    nudged: bool,
    turns: u32,
    monitor: Monitor,
    context: Context,
    /// Turns of the rounds before this one (0 unless resumed).
    base: u32,
    notes: Option<super::notes::Inbox>,
}

impl<'a> Run<'a> {
    fn new(
        registry: &'a Registry,
        cfg: &'a LoopConfig,
        sink: &'a mut (dyn FnMut(LoopEvent) + Send),
    ) -> Run<'a> {
        let tools = registry.specs();
        let submit_only: Vec<_> = tools
            .iter()
            .filter(|t| t.name() == SUBMIT)
            .cloned()
            .collect();
        let converge_from = match (cfg.converge_turns, submit_only.is_empty()) {
            (0, _) | (_, true) => u32::MAX,
            (n, false) => cfg.max_turns.saturating_sub(n) + 1,
        };
        Run {
            registry,
            cfg,
            sink,
            transcript: Vec::with_capacity(cfg.opening.len() + 4 * cfg.max_turns as usize),
            tools,
            submit_only,
            converge_from,
            usage: Usage::default(),
            nudged: false,
            turns: 0,
            monitor: Monitor::new(cfg.progress),
            context: Context::new(cfg.context),
            base: 0,
            notes: None,
        }
    }

    /// Appends `message` to the conversation and reports it.
    fn push(&mut self, turn: u32, message: Message) {
        (self.sink)(LoopEvent::Message {
            turn,
            message: message.clone(),
        });
        self.transcript.push(message);
    }

    /// The opening conversation (system, examples, task) as turn 0, or what a resumed
    /// round adds, on the turn it resumes after.
    fn open(&mut self) {
        for m in &self.cfg.opening {
            self.push(self.turns, m.clone());
        }
    }

    /// Takes over a previous round's conversation and turn count, unreported.
    fn resume(&mut self, r: Resume) {
        self.notes = r.notes;
        self.transcript.splice(0..0, r.history);
        self.turns = r.turns;
        self.base = r.turns;
        if self.converge_from != u32::MAX {
            self.converge_from = self.converge_from.saturating_add(r.turns);
        }
    }

    /// One chat turn and the tool calls it asks for; `Some` when the loop ends with it.
    async fn turn(&mut self, client: &Client) -> Option<Result<LoopEnd, LoopError>> {
        self.turns += 1;
        let turn = self.turns;
        self.start_turn(turn);
        self.take_notes(turn);
        let started = Instant::now();
        let completion = match self.chat(client, turn).await {
            Ok(c) => c,
            Err(end) => return Some(end),
        };
        let calls = self.record_reply(turn, completion, started);
        if calls.is_empty() {
            return self.text_only(turn);
        }
        self.nudged = false;
        match self.dispatch(turn, calls).await {
            Dispatched::Submitted(sub) => Some(Ok(LoopEnd::Submitted(sub))),
            Dispatched::Continue => self.check_progress(turn),
            Dispatched::OutOfTime => Some(Ok(LoopEnd::BudgetExhausted)),
        }
    }

    /// The stuck-loop detector's word on the turn's calls: a nudge is appended, a stop ends
    /// the run.
    fn check_progress(&mut self, turn: u32) -> Option<Result<LoopEnd, LoopError>> {
        let calls = self
            .transcript
            .iter()
            .rev()
            .find(|m| m.role == crate::oai::Role::Assistant)
            .map(|m| m.tool_calls().to_vec())
            .unwrap_or_default();
        let tokens = approx_tokens(&self.transcript);
        match self.monitor.observe(turn, &calls, tokens) {
            Decision::Continue => None,
            Decision::Nudge(text) => {
                self.push(turn, Message::user(text));
                None
            }
            Decision::Stop(stuck) => Some(Ok(LoopEnd::Stuck(stuck))),
        }
    }

    /// The operator's notes that arrived since the last turn, as user messages before it.
    fn take_notes(&mut self, turn: u32) {
        let notes = self.notes.as_ref().map(|n| n.take()).unwrap_or_default();
        for n in notes {
            self.push(turn, Message::user(super::notes::note_message(&n)));
        }
    }

    /// The last turn of this round (a resumed round's cap counts from where it resumed).
    fn max_turns(&self) -> u32 {
        self.cfg.max_turns + self.base
    }

    /// Reports the turn, and on the first converge turn tells the model only submit is left.
    fn start_turn(&mut self, turn: u32) {
        let max_turns = self.max_turns();
        (self.sink)(LoopEvent::TurnStarted { turn, max_turns });
        if turn == self.converge_from {
            let left = max_turns - turn + 1;
            let note = Message::user(format!(
                "{left} turn(s) left: only submit_result is available now. Report your verdict \
                 on the work done so far (GO with a commit_message if you changed files)."
            ));
            self.push(turn, note);
        }
    }

    /// The chat request, streamed to the sink, bounded by the loop's deadline.
    async fn chat(
        &mut self,
        client: &Client,
        turn: u32,
    ) -> Result<Completion, Result<LoopEnd, LoopError>> {
        let offered = if turn >= self.converge_from {
            &self.submit_only
        } else {
            &self.tools
        };
        let wire = self.context.wire(&self.transcript);
        let sink = &mut self.sink;
        let mut on_event = |event: StreamEvent| sink(LoopEvent::Stream { turn, event });
        let fut = client.complete_offering(&wire, &self.tools, offered, &mut on_event);
        let chat = match self.cfg.deadline {
            Some(d) => match tokio::time::timeout_at(d, fut).await {
                Ok(r) => r,
                Err(_) => return Err(Ok(LoopEnd::BudgetExhausted)),
            },
            None => fut.await,
        };
        chat.map_err(|source| Err(LoopError::Chat { turn, source }))
    }

    /// Counts the reply's tokens, repairs its tool calls, appends it and reports the turn's
    /// accounting. Returns the calls to run.
    fn record_reply(&mut self, turn: u32, completion: Completion, started: Instant) -> Vec<Call> {
        if let Some(u) = completion.usage {
            self.usage.prompt_tokens += u.prompt_tokens;
            self.usage.completion_tokens += u.completion_tokens;
            self.usage.total_tokens += u.total_tokens;
        }
        let mut assistant = completion.message;
        let calls = repair_calls(&mut assistant, turn);
        if calls.is_empty() && assistant.content.is_none() {
            // llama.cpp rejects a history holding an assistant message with neither content
            // nor tool_calls (HTTP 400), which an empty reply would otherwise leave behind.
            assistant.content = Some(String::new());
        }
        self.push(turn, assistant);
        (self.sink)(LoopEvent::TurnFinished(TurnStats {
            turn,
            elapsed_ms: started.elapsed().as_millis() as u64,
            attempts: completion.attempts,
            usage: completion.usage,
            timings: completion.timings,
        }));
        calls
    }

    /// A reply without tool calls: nudged once; a second one in a row ends the run.
    fn text_only(&mut self, turn: u32) -> Option<Result<LoopEnd, LoopError>> {
        if self.nudged {
            return Some(Ok(LoopEnd::HallucinatedFinish));
        }
        self.nudged = true;
        self.push(turn, Message::user(TEXT_ONLY_NUDGE));
        None
    }

    /// Runs the calls in order (at most the per-turn cap), answering each with a tool
    /// message; the first submission ends the loop (after the rest of the turn's calls ran).
    /// A call still running at the deadline is dropped (its sandbox dies with it).
    async fn dispatch(&mut self, turn: u32, calls: Vec<Call>) -> Dispatched {
        let mut terminal = None;
        let cap = self.cfg.max_tool_calls_per_turn.max(1);
        let total = calls.len();
        for (i, call) in calls.into_iter().enumerate() {
            let content = match call.args {
                _ if i >= cap => error_json(&format!(
                    "{}: not run: this reply asked for {total} tool calls and at most {cap} run \
                     per turn; send the ones you still need in your next reply",
                    call.name
                )),
                Err(parse_error) => error_json(&format!(
                    "{}: arguments were not a valid JSON object ({parse_error}); the call was not run. \
                     Send it again with one complete JSON object as arguments.",
                    call.name
                )),
                Ok(args) => {
                    // The tool's own time, for the `overhead` bench.
                    let span = tracing::debug_span!("tool.run");
                    let run = self.registry.dispatch(&call.name, &args);
                    let done = match self.cfg.deadline {
                        Some(d) => match tokio::time::timeout_at(d, run).await {
                            Ok(r) => r,
                            Err(_) => return Dispatched::OutOfTime,
                        },
                        None => run.await,
                    };
                    drop(span);
                    match done {
                        Ok(out) => {
                            if terminal.is_none() {
                                terminal = out.submission;
                            }
                            serde_json::to_string(&out.output)
                                .unwrap_or_else(|e| error_json(&format!("{}: {e}", call.name)))
                        }
                        Err(e) => error_json(&e.to_string()),
                    }
                }
            };
            self.push(turn, Message::tool(call.id, call.name, content));
        }
        match terminal {
            Some(sub) => Dispatched::Submitted(sub),
            None => Dispatched::Continue,
        }
    }
}

/// How a turn's tool calls ended.
enum Dispatched {
    Submitted(Submission),
    Continue,
    /// The loop's deadline passed during a call.
    OutOfTime,
}

struct Call {
    id: String,
    name: String,
    args: Result<serde_json::Value, String>,
}

/// Gives every call an id, normalises empty arguments to `{}`, and replaces arguments that are
/// not a JSON object with `{}` in the history (keeping the parse error for the tool reply).
fn repair_calls(msg: &mut Message, turn: u32) -> Vec<Call> {
    let Some(calls) = msg.tool_calls.as_mut() else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(calls.len());
    for (i, c) in calls.iter_mut().enumerate() {
        if c.id.is_empty() {
            c.id = format!("call_{turn}_{}", i + 1);
        }
        let raw = c.function.arguments.trim();
        let args = if raw.is_empty() {
            Ok(serde_json::Value::Object(Default::default()))
        } else {
            match serde_json::from_str::<serde_json::Value>(raw) {
                Ok(v @ serde_json::Value::Object(_)) => Ok(v),
                Ok(other) => Err(format!("expected an object, got {}", json_kind(&other))),
                Err(e) => Err(e.to_string()),
            }
        };
        if args.is_err() || raw.is_empty() {
            c.function.arguments = "{}".into();
        }
        out.push(Call {
            id: c.id.clone(),
            name: c.function.name.clone(),
            args,
        });
    }
    if calls.is_empty() {
        msg.tool_calls = None;
    }
    out
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn error_json(message: &str) -> String {
    serde_json::json!({ "error": message }).to_string()
}
