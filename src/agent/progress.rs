//! Upstream HEAD's stuck-loop detector (`progress.go`, #544/#569/#570): after each turn it
//! looks at the turn's tool calls and the size of the conversation, and answers continue,
//! nudge (a signal fired for the first time: one more chance) or stop (it fired again after
//! its nudge: the run ends `STUCK-LOOP-DETECTED`). Signals, in upstream's priority order:
//! `ContextHardCap` (stops at once), `ContextSoftCap`, `EditFreeStreak`, `RepeatedToolCall`.
//!
//! Departures, kept small: the edit-free signal counts only the edit tools (`write_file`,
//! `str_replace`, `submit_result`), not upstream's bash-write heuristic, and has no "forcing
//! phase" that hides `grep`/`bash`; upstream's grounding bonus (one extra turn per distinct
//! file read, at most 8) is kept.

use crate::api::StuckLoopDetection;
use crate::oai::{Message, ToolCall};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

/// The thresholds; 0 turns a signal off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ProgressConfig {
    pub repeated_tool_threshold: usize,
    pub edit_free_turns_limit: usize,
    pub context_soft_cap: usize,
    pub context_hard_cap: usize,
}

impl ProgressConfig {
    /// Upstream's `DefaultProgressConfig`, used when the Agent has no `stuckLoopDetection`.
    pub const DEFAULT: ProgressConfig = ProgressConfig {
        repeated_tool_threshold: 5,
        edit_free_turns_limit: 15,
        context_soft_cap: 90_000,
        context_hard_cap: 140_000,
    };

    /// Upstream's `progressConfigFromAgent`: the defaults when unset, the Agent's numbers
    /// (0 = off) when set; reviewers never trip the edit-free signal (they only read).
    pub fn from_agent(spec: Option<&StuckLoopDetection>, reviewer: bool) -> ProgressConfig {
        let n = |v: Option<i32>| v.map_or(0, |n| n.max(0) as usize);
        let mut cfg = match spec {
            None => ProgressConfig::DEFAULT,
            Some(s) => ProgressConfig {
                repeated_tool_threshold: n(s.repeated_tool_threshold),
                edit_free_turns_limit: n(s.edit_free_turns_limit),
                context_soft_cap: n(s.context_soft_cap),
                context_hard_cap: n(s.context_hard_cap),
            },
        };
        if reviewer {
            cfg.edit_free_turns_limit = 0;
        }
        // A soft cap at or past the hard cap is meaningless: upstream turns both off.
        if cfg.context_soft_cap > 0
            && cfg.context_hard_cap > 0
            && cfg.context_soft_cap >= cfg.context_hard_cap
        {
            cfg.context_soft_cap = 0;
            cfg.context_hard_cap = 0;
        }
        cfg
    }
}

/// Why the detector stopped a run (upstream's force-terminate envelope).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StuckLoop {
    /// `RepeatedToolCall`, `EditFreeStreak`, `ContextSoftCap` or `ContextHardCap`.
    pub signal: String,
    pub detail: String,
    pub turn: u32,
}

/// What the loop does after a turn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Continue,
    /// Append this user message and run on.
    Nudge(String),
    Stop(StuckLoop),
}

const EDIT_TOOLS: [&str; 3] = ["write_file", "str_replace", "submit_result"];
const GROUNDING_BONUS_CAP: usize = 8;

/// One run's detector state.
#[derive(Debug, Default)]
pub struct Monitor {
    cfg: ProgressConfig,
    recent: Vec<String>,
    edit_free: usize,
    grounded: HashSet<String>,
    last_read: String,
    nudged_hash: Option<String>,
    nudged_edit_free: bool,
    nudged_soft: bool,
}

impl Monitor {
    pub fn new(cfg: ProgressConfig) -> Monitor {
        Monitor {
            cfg,
            ..Monitor::default()
        }
    }

    /// Records turn `turn`'s calls; `tokens` is the approximate size of the next request.
    pub fn observe(&mut self, turn: u32, calls: &[ToolCall], tokens: usize) -> Decision {
        self.record(calls);
        self.update_edit_free(calls);
        if self.nudged_hash.is_some() && calls.iter().any(is_edit) {
            self.nudged_hash = None; // re-running after an edit is verification (#1215)
        }
        let c = self.cfg;
        if c.context_hard_cap > 0 && tokens >= c.context_hard_cap {
            let detail = format!(
                "approximate wire-token count {tokens} >= hard cap {} at turn {turn}",
                c.context_hard_cap
            );
            return stop("ContextHardCap", detail, turn);
        }
        if c.context_soft_cap > 0 && tokens >= c.context_soft_cap {
            let detail = format!(
                "approximate wire-token count {tokens} >= soft cap {} at turn {turn}",
                c.context_soft_cap
            );
            return self.escalate(Signal::Soft, detail, turn);
        }
        if c.edit_free_turns_limit > 0 && self.edit_free >= self.edit_free_limit() {
            let detail = format!(
                "no write_file/str_replace/submit_result tool call in {} consecutive turns (turn {turn})",
                self.edit_free
            );
            return self.escalate(Signal::EditFree, detail, turn);
        }
        self.repeated(turn, calls)
    }

    fn repeated(&mut self, turn: u32, calls: &[ToolCall]) -> Decision {
        let threshold = self.cfg.repeated_tool_threshold;
        if threshold == 0 {
            return Decision::Continue;
        }
        if let Some(h) = &self.nudged_hash
            && calls.iter().any(|c| call_hash(c) == *h)
        {
            let detail = format!(
                "{} called again with identical arguments (hash {h}) at turn {turn} after a prior nudge for the same pattern",
                tool_of(h)
            );
            return stop("RepeatedToolCall", detail, turn);
        }
        let mut counts: HashMap<&str, usize> = HashMap::new();
        let dup = self.recent.iter().find(|h| {
            let n = counts.entry(h.as_str()).or_default();
            *n += 1;
            *n >= threshold
        });
        let Some(hash) = dup.cloned() else {
            return Decision::Continue;
        };
        self.recent.clear();
        let detail = format!(
            "{} called >= {threshold} times with identical arguments (hash {hash}) at turn {turn}",
            tool_of(&hash)
        );
        self.nudged_hash = Some(hash);
        Decision::Nudge(nudge_message(&detail))
    }

    /// Nudge on a signal's first firing, stop on the next.
    fn escalate(&mut self, signal: Signal, detail: String, turn: u32) -> Decision {
        let (name, nudged) = match signal {
            Signal::Soft => ("ContextSoftCap", &mut self.nudged_soft),
            Signal::EditFree => ("EditFreeStreak", &mut self.nudged_edit_free),
        };
        if *nudged {
            let detail = format!("{detail}; the model did not change course after the nudge");
            return stop(name, detail, turn);
        }
        *nudged = true;
        Decision::Nudge(nudge_message(&detail))
    }

    fn record(&mut self, calls: &[ToolCall]) {
        let threshold = self.cfg.repeated_tool_threshold;
        if threshold == 0 {
            return;
        }
        self.recent.extend(calls.iter().map(call_hash));
        let max = (threshold * 2).max(threshold + 2);
        if self.recent.len() > max {
            self.recent.drain(..self.recent.len() - max);
        }
    }

    fn update_edit_free(&mut self, calls: &[ToolCall]) {
        if calls.iter().any(is_edit) {
            self.edit_free = 0;
            self.nudged_edit_free = false;
            self.grounded.clear();
            self.last_read.clear();
            return;
        }
        for c in calls.iter().filter(|c| c.function.name == "read_file") {
            let key = read_key(&c.function.arguments);
            if key.is_empty() || key == self.last_read {
                continue;
            }
            self.last_read = key.clone();
            self.grounded.insert(key);
        }
        self.edit_free += 1;
    }

    /// The limit plus one turn per distinct file read past the first (at most 8).
    fn edit_free_limit(&self) -> usize {
        let bonus = self
            .grounded
            .len()
            .saturating_sub(1)
            .min(GROUNDING_BONUS_CAP);
        self.cfg.edit_free_turns_limit + bonus
    }
}

enum Signal {
    Soft,
    EditFree,
}

fn stop(signal: &str, detail: String, turn: u32) -> Decision {
    Decision::Stop(StuckLoop {
        signal: signal.into(),
        detail,
        turn,
    })
}

fn is_edit(c: &ToolCall) -> bool {
    EDIT_TOOLS.contains(&c.function.name.as_str())
}

/// `name:<16 hex of sha256(name NUL arguments)>`, as upstream spells it.
fn call_hash(c: &ToolCall) -> String {
    let name = &c.function.name;
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0]);
    h.update(c.function.arguments.as_bytes());
    let digest = h.finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let prefix: String = name.chars().take(16).collect();
    format!("{prefix}:{hex}")
}

fn tool_of(hash: &str) -> &str {
    hash.split(':').next().unwrap_or(hash)
}

/// `path:offset:limit` of a `read_file` call ("" when the arguments do not parse).
fn read_key(arguments: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(arguments) else {
        return String::new();
    };
    let num = |k: &str| v.get(k).and_then(serde_json::Value::as_i64).unwrap_or(0);
    match v.get("path").and_then(serde_json::Value::as_str) {
        Some(p) => format!("{}:{}:{}", p.trim(), num("offset"), num("limit")),
        None => String::new(),
    }
}

/// Upstream's `NudgeMessage` (without the forcing-phase paragraph this loop does not have).
pub fn nudge_message(detail: &str) -> String {
    format!(
        "PROGRESS MONITOR ALERT: {detail}\n\nThis pattern is not making progress. Stop. Either:\n  \
         - call submit_result(verdict=\"NO-GO\") with a clear summary of what is blocking you, OR\n  \
         - change your approach entirely (different tool, different arguments, different file).\n\n\
         Continuing the same pattern will be force-terminated as a stuck loop."
    )
}

/// Upstream's chars/4 token estimate of a request's messages (`approxTokens`).
pub fn approx_tokens(messages: &[Message]) -> usize {
    let chars: usize = messages
        .iter()
        .map(|m| {
            let calls: usize = m
                .tool_calls()
                .iter()
                .map(|c| {
                    c.id.len() + c.kind.len() + c.function.name.len() + c.function.arguments.len()
                })
                .sum();
            let role = match m.role {
                crate::oai::Role::System => 6,
                crate::oai::Role::User => 4,
                crate::oai::Role::Assistant => 9,
                crate::oai::Role::Tool => 4,
            };
            m.text().len()
                + role
                + m.tool_call_id.as_deref().map_or(0, str::len)
                + m.name.as_deref().map_or(0, str::len)
                + calls
                + 16
        })
        .sum();
    chars / 4
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: &str) -> ToolCall {
        ToolCall::new("c", name, args)
    }

    fn cfg(repeat: usize, edit_free: usize) -> ProgressConfig {
        ProgressConfig {
            repeated_tool_threshold: repeat,
            edit_free_turns_limit: edit_free,
            ..ProgressConfig::default()
        }
    }

    #[test]
    fn a_repeated_call_nudges_at_the_threshold_then_stops_when_it_recurs() {
        let mut m = Monitor::new(cfg(3, 0));
        let grep = call("grep", r#"{"pattern":"x"}"#);
        assert_eq!(
            m.observe(1, std::slice::from_ref(&grep), 0),
            Decision::Continue
        );
        assert_eq!(
            m.observe(2, std::slice::from_ref(&grep), 0),
            Decision::Continue
        );
        let Decision::Nudge(text) = m.observe(3, std::slice::from_ref(&grep), 0) else {
            panic!("no nudge at the threshold")
        };
        assert!(
            text.starts_with("PROGRESS MONITOR ALERT: grep called >= 3 times"),
            "{text}"
        );
        let Decision::Stop(s) = m.observe(4, &[grep], 0) else {
            panic!("no stop after the nudge")
        };
        assert_eq!((s.signal.as_str(), s.turn), ("RepeatedToolCall", 4));
    }

    #[test]
    fn an_edit_after_the_nudge_disarms_it_and_other_arguments_do_not_count() {
        let mut m = Monitor::new(cfg(2, 0));
        let a = call("bash", r#"{"command":"make"}"#);
        assert_eq!(
            m.observe(1, std::slice::from_ref(&a), 0),
            Decision::Continue
        );
        assert!(matches!(
            m.observe(2, std::slice::from_ref(&a), 0),
            Decision::Nudge(_)
        ));
        let edit = call("write_file", r#"{"path":"a"}"#);
        assert_eq!(m.observe(3, &[edit, a.clone()], 0), Decision::Continue);
        let b = call("bash", r#"{"command":"make test"}"#);
        assert_eq!(m.observe(4, &[b], 0), Decision::Continue);
    }

    #[test]
    fn the_edit_free_streak_nudges_then_stops_and_distinct_reads_extend_it() {
        let mut m = Monitor::new(cfg(0, 2));
        let read = |p: &str| call("read_file", &format!(r#"{{"path":"{p}"}}"#));
        assert_eq!(m.observe(1, &[read("a")], 0), Decision::Continue);
        // A second distinct file is grounding: one more turn of tolerance.
        assert_eq!(m.observe(2, &[read("b")], 0), Decision::Continue);
        assert!(matches!(m.observe(3, &[read("b")], 0), Decision::Nudge(_)));
        let Decision::Stop(s) = m.observe(4, &[read("b")], 0) else {
            panic!("no stop")
        };
        assert_eq!(s.signal, "EditFreeStreak");
    }

    #[test]
    fn the_hard_cap_stops_at_once_and_the_soft_cap_nudges_first() {
        let c = ProgressConfig {
            context_soft_cap: 100,
            context_hard_cap: 200,
            ..ProgressConfig::default()
        };
        let mut m = Monitor::new(c);
        assert!(matches!(m.observe(1, &[], 150), Decision::Nudge(_)));
        assert!(
            matches!(m.observe(2, &[], 150), Decision::Stop(s) if s.signal == "ContextSoftCap")
        );
        let mut m = Monitor::new(c);
        assert!(
            matches!(m.observe(1, &[], 250), Decision::Stop(s) if s.signal == "ContextHardCap")
        );
    }

    #[test]
    fn unset_is_upstreams_default_and_a_reviewer_never_trips_edit_free() {
        assert_eq!(
            ProgressConfig::from_agent(None, false),
            ProgressConfig::DEFAULT
        );
        let r = ProgressConfig::from_agent(None, true);
        assert_eq!(r.edit_free_turns_limit, 0);
        assert_eq!(r.repeated_tool_threshold, 5);
        let off = StuckLoopDetection::default();
        assert_eq!(
            ProgressConfig::from_agent(Some(&off), false),
            ProgressConfig::default()
        );
        let bad = StuckLoopDetection {
            context_soft_cap: Some(10),
            context_hard_cap: Some(5),
            ..Default::default()
        };
        let c = ProgressConfig::from_agent(Some(&bad), false);
        assert_eq!((c.context_soft_cap, c.context_hard_cap), (0, 0));
    }
}
