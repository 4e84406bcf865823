//! What the executor hands the loop: its configuration from the Agent and the task (prompt,
//! turn caps, the wall-clock budget, HEAD's stuck-loop and context settings), and what of its
//! events the journal keeps.

use crate::agent::context::ContextConfig;
use crate::agent::progress::ProgressConfig;
use crate::agent::transcript::Record;
use crate::agent::{LoopConfig, LoopEvent, prompt};
use crate::api::{Agent, AgentRole, AgenticTask};
use crate::oai::{Message, StreamEvent};

/// The first round's opening for `task` run by `agent` on `branch`: system prompt, worked
/// examples, the task (its prompt, or `issue_prompt` read from GitHub for an empty one).
pub(super) fn opening(
    task: &AgenticTask,
    agent: &Agent,
    branch: &str,
    issue_prompt: Option<&str>,
) -> Vec<Message> {
    let spec = &agent.spec;
    let system = spec
        .system_prompt
        .clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| prompt::DEFAULT_SYSTEM_PROMPT.to_string());
    let few_shot = spec.few_shot.clone().unwrap_or_default();
    let user = match issue_prompt {
        Some(p) => {
            let mut spec = task.spec.clone();
            spec.payload.prompt = Some(p.to_string());
            prompt::user_prompt(&spec, branch)
        }
        None => prompt::user_prompt(&task.spec, branch),
    };
    prompt::opening(&system, &few_shot, user)
}

/// The loop's configuration for one round run by `agent`: the round's `opening`,
/// the Agent's caps, and the run's `deadline` (see [`loop_budget`]).
pub(super) fn loop_config(
    agent: &Agent,
    opening: Vec<Message>,
    deadline: tokio::time::Instant,
) -> LoopConfig {
    let spec = &agent.spec;
    LoopConfig {
        opening,
        max_turns: spec.max_turns(),
        converge_turns: spec.converge_turns(),
        deadline: Some(deadline),
        max_tool_calls_per_turn: spec.max_tool_calls_per_turn(),
        progress: ProgressConfig::from_agent(
            spec.stuck_loop_detection.as_ref(),
            spec.role == AgentRole::Reviewer,
        ),
        context: ContextConfig::from_agent(spec),
    }
}

/// The loop's wall-clock budget: the task's `timeoutSeconds`, and under HEAD's semantics
/// (`requestTurnTimeoutSeconds` set, #602) also the Agent's `requestTimeoutSeconds`,
/// whichever ends first.
pub(super) fn loop_budget(task: &AgenticTask, agent: &Agent) -> std::time::Duration {
    let t = task.spec.timeout();
    agent.spec.loop_budget().map_or(t, |b| b.min(t))
}

/// What of a loop event the journal keeps (streaming deltas are superseded by the message).
pub(super) fn journal_record(ev: &LoopEvent) -> Option<Record> {
    match ev {
        LoopEvent::Message { turn, message } => Some(Record::Message {
            turn: *turn,
            message: message.clone(),
        }),
        LoopEvent::TurnFinished(stats) => Some(Record::Turn(*stats)),
        LoopEvent::Stream {
            turn,
            event: StreamEvent::Retry { attempt, reason },
        } => Some(Record::Retry {
            turn: *turn,
            attempt: *attempt,
            reason: reason.clone(),
        }),
        _ => None,
    }
}
