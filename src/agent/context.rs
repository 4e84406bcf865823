//! What of the conversation each request carries (upstream HEAD `contextStrategy`,
//! `contextWindowTokens`, `observationWindowTurns`; #558/#563/#756), built so llama.cpp's
//! prompt cache stays useful: the request is the conversation itself until its estimated
//! size (chars/4, upstream's `approxTokens`) passes `contextWindowTokens`; then, in one step,
//!
//! - `window`: every tool result but the newest `observationWindowTurns` is masked to a
//!   one-line header (upstream masks on every turn, which moves the prompt prefix every turn
//!   and costs a full re-prefill each time; here the masked point only moves when the
//!   threshold is passed again);
//! - `session`: the oldest whole turn-groups after the task are dropped until the request is
//!   at 60 % of the budget (upstream's sticky compaction, #1286).
//!
//! Between two such steps each request is the previous one plus what the last turn appended,
//! byte for byte. The journal keeps the whole conversation; only the wire is cut.

use super::progress::approx_tokens;
use crate::api::{AgentSpec, ContextStrategy};
use crate::oai::{Message, Role};
use std::borrow::Cow;

/// Upstream's `DefaultContextWindowTokens`.
pub const DEFAULT_WINDOW_TOKENS: usize = 32_768;
/// Upstream's `DefaultObservationWindowTurns`.
pub const DEFAULT_OBSERVATION_WINDOW: usize = 3;
/// A session compaction compacts to this share of the budget (upstream's 60 %).
const SESSION_TARGET_PERCENT: usize = 60;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextConfig {
    pub strategy: ContextStrategy,
    /// 0 = never cut.
    pub window_tokens: usize,
    /// Tool results `window` always keeps whole.
    pub observation_window: usize,
}

impl Default for ContextConfig {
    fn default() -> Self {
        ContextConfig {
            strategy: ContextStrategy::Window,
            window_tokens: DEFAULT_WINDOW_TOKENS,
            observation_window: DEFAULT_OBSERVATION_WINDOW,
        }
    }
}

impl ContextConfig {
    /// The Agent's fields with upstream's defaults for 0 or unset.
    pub fn from_agent(spec: &AgentSpec) -> ContextConfig {
        let pos = |v: Option<i32>, d: usize| match v {
            Some(n) if n > 0 => n as usize,
            _ => d,
        };
        ContextConfig {
            strategy: spec.context_strategy.unwrap_or_default(),
            window_tokens: pos(spec.context_window_tokens, DEFAULT_WINDOW_TOKENS),
            observation_window: pos(spec.observation_window_turns, DEFAULT_OBSERVATION_WINDOW),
        }
    }
}

/// One loop's cut point, kept between turns so it moves only when the budget is passed.
#[derive(Debug, Default)]
pub struct Context {
    cfg: ContextConfig,
    /// `window`: tool results before this transcript index are masked.
    masked_before: usize,
    /// `session`: this many of the oldest turn-groups are dropped.
    dropped: usize,
    /// How many cut steps were taken (for the tests and the log).
    steps: u32,
}

impl Context {
    pub fn new(cfg: ContextConfig) -> Context {
        Context {
            cfg,
            ..Context::default()
        }
    }

    pub fn steps(&self) -> u32 {
        self.steps
    }

    /// The messages of the next request.
    pub fn wire<'t>(&mut self, transcript: &'t [Message]) -> Cow<'t, [Message]> {
        if self.cfg.window_tokens == 0 {
            return Cow::Borrowed(transcript);
        }
        match self.cfg.strategy {
            ContextStrategy::Window => self.window(transcript),
            ContextStrategy::Session => self.session(transcript),
        }
    }

    fn window<'t>(&mut self, transcript: &'t [Message]) -> Cow<'t, [Message]> {
        let wire = masked(transcript, self.masked_before);
        if approx_tokens(&wire) <= self.cfg.window_tokens {
            return wire;
        }
        // Over budget: mask every tool result but the newest `observation_window`, at once.
        let tools: Vec<usize> = (0..transcript.len())
            .filter(|&i| transcript[i].role == Role::Tool)
            .collect();
        let keep_from = tools.len().saturating_sub(self.cfg.observation_window);
        let Some(&first_kept) = tools.get(keep_from) else {
            self.masked_before = transcript.len();
            return masked(transcript, self.masked_before);
        };
        if first_kept > self.masked_before {
            self.masked_before = first_kept;
            self.steps += 1;
            tracing::debug!(
                masked_before = first_kept,
                "context over {} tokens: older tool results masked",
                self.cfg.window_tokens
            );
        }
        masked(transcript, self.masked_before)
    }

    fn session<'t>(&mut self, transcript: &'t [Message]) -> Cow<'t, [Message]> {
        let (head, groups) = turn_groups(transcript);
        if groups.len() <= 1 {
            return Cow::Borrowed(transcript);
        }
        let budget = self.cfg.window_tokens;
        self.dropped = self.dropped.min(groups.len() - 1);
        let kept = assemble(transcript, head, &groups, self.dropped);
        if approx_tokens(&kept) <= budget {
            return if self.dropped == 0 {
                Cow::Borrowed(transcript)
            } else {
                Cow::Owned(kept)
            };
        }
        let target = (budget * SESSION_TARGET_PERCENT / 100).max(1);
        let mut drop = self.dropped + 1;
        while drop < groups.len() - 1
            && approx_tokens(&assemble(transcript, head, &groups, drop)) > target
        {
            drop += 1;
        }
        self.dropped = drop.min(groups.len() - 1);
        self.steps += 1;
        Cow::Owned(assemble(transcript, head, &groups, self.dropped))
    }
}

/// The transcript with the tool results before `before` replaced by upstream's header.
fn masked(transcript: &[Message], before: usize) -> Cow<'_, [Message]> {
    let any = transcript[..before.min(transcript.len())]
        .iter()
        .any(|m| m.role == Role::Tool);
    if !any {
        return Cow::Borrowed(transcript);
    }
    Cow::Owned(
        transcript
            .iter()
            .enumerate()
            .map(|(i, m)| match m.role {
                Role::Tool if i < before => mask(m),
                _ => m.clone(),
            })
            .collect(),
    )
}

/// Upstream's `maskedToolMessage`: the call id and name stay, the content becomes a note.
pub fn mask(m: &Message) -> Message {
    let name = m.name.clone().unwrap_or_default();
    let note = format!(
        "[tool result from {name:?} truncated; {} bytes elided. Re-run the tool if you need this output again.]",
        m.text().len()
    );
    Message::tool(m.tool_call_id.clone().unwrap_or_default(), name, note)
}

/// The pinned head (leading system messages and the first user message) and the turn-groups
/// after it: a non-tool message and the tool results answering it, so no call id is orphaned.
fn turn_groups(t: &[Message]) -> (usize, Vec<(usize, usize)>) {
    let mut head = t.iter().take_while(|m| m.role == Role::System).count();
    if t.get(head).is_some_and(|m| m.role == Role::User) {
        head += 1;
    }
    let mut groups = Vec::new();
    let mut i = head;
    while i < t.len() {
        let start = i;
        i += 1;
        while i < t.len() && t[i].role == Role::Tool {
            i += 1;
        }
        groups.push((start, i));
    }
    (head, groups)
}

fn assemble(t: &[Message], head: usize, groups: &[(usize, usize)], drop: usize) -> Vec<Message> {
    let mut out = t[..head].to_vec();
    for &(s, e) in &groups[drop..] {
        out.extend_from_slice(&t[s..e]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oai::ToolCall;

    /// System, task, then `n` turns of one call with a `size`-byte result each.
    fn convo(n: usize, size: usize) -> Vec<Message> {
        let mut t = vec![Message::system("sys"), Message::user("task")];
        for i in 0..n {
            let mut a = Message::assistant("");
            a.tool_calls = Some(vec![ToolCall::new(format!("c{i}"), "bash", "{}")]);
            t.push(a);
            t.push(Message::tool(format!("c{i}"), "bash", "x".repeat(size)));
        }
        t
    }

    fn cfg(strategy: ContextStrategy, tokens: usize, obs: usize) -> ContextConfig {
        ContextConfig {
            strategy,
            window_tokens: tokens,
            observation_window: obs,
        }
    }

    #[test]
    fn window_masks_once_past_the_budget_and_then_only_appends() {
        let mut c = Context::new(cfg(ContextStrategy::Window, 1000, 2));
        let mut t = convo(3, 1000);
        assert!(
            matches!(c.wire(&t), Cow::Borrowed(_)),
            "under budget: as is"
        );
        t.extend(convo(3, 1000).split_off(2));
        let first = c.wire(&t).into_owned();
        assert_eq!(c.steps(), 1);
        let whole: Vec<_> = first.iter().filter(|m| m.text().len() == 1000).collect();
        assert_eq!(whole.len(), 2, "the newest two results stay whole");
        assert!(
            first[3]
                .text()
                .starts_with("[tool result from \"bash\" truncated; 1000 bytes")
        );
        // A small turn later: the request is the last one plus the new messages.
        t.push(Message::assistant("thinking"));
        let next = c.wire(&t).into_owned();
        assert_eq!(c.steps(), 1);
        assert_eq!(&next[..first.len()], &first[..]);
    }

    #[test]
    fn session_drops_whole_groups_to_sixty_percent_and_keeps_the_drop_point() {
        let mut c = Context::new(cfg(ContextStrategy::Session, 1000, 3));
        let t = convo(8, 500);
        let w = c.wire(&t).into_owned();
        assert_eq!(c.steps(), 1);
        assert_eq!((w[0].text(), w[1].text()), ("sys", "task"));
        assert!(approx_tokens(&w) <= 600, "{}", approx_tokens(&w));
        assert_eq!(w[2].role, Role::Assistant, "no orphaned tool result");
        let mut t2 = t.clone();
        t2.push(Message::user("small"));
        let w2 = c.wire(&t2).into_owned();
        assert_eq!((c.steps(), &w2[..w.len()]), (1, &w[..]));
    }

    #[test]
    fn zero_budget_never_cuts() {
        let mut c = Context::new(cfg(ContextStrategy::Window, 0, 1));
        assert!(matches!(c.wire(&convo(50, 10_000)), Cow::Borrowed(_)));
    }
}
