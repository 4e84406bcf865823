//! Headless live transcript on stderr: streamed text as it arrives, tool calls with their
//! arguments, results collapsed to a few lines, per-turn tokens and speed.
//!
//! Everything shown comes from the model, a tool or a server, so all of it passes through
//! [`terminal_safe`] (issue 9 §5); the only escape sequences written are this printer's own
//! colours.

use crate::agent::{LoopEvent, TurnStats};
use crate::executor::ExecEvent;
use crate::oai::{Message, Role, StreamEvent, Timings, Usage, terminal_safe};
use std::io::{IsTerminal, Write};

/// Lines of a tool result shown before collapsing.
const RESULT_LINES: usize = 4;
/// Lines of a failed gate's output shown.
const GATE_LINES: usize = 12;

pub struct Printer {
    color: bool,
    /// Tool-call indexes whose header was printed this turn.
    open_calls: Vec<usize>,
    mid_line: bool,
}

impl Printer {
    pub fn new() -> Printer {
        Printer {
            color: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            open_calls: Vec::new(),
            mid_line: false,
        }
    }

    /// Untrusted text, made terminal-safe, then coloured.
    fn paint(&self, code: &str, s: &str) -> String {
        let s = terminal_safe(s);
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.into_owned()
        }
    }

    fn line(&mut self, s: String) {
        let mut err = std::io::stderr().lock();
        if self.mid_line {
            let _ = writeln!(err);
            self.mid_line = false;
        }
        let _ = writeln!(err, "{s}");
    }

    /// Already safe (painted) text, written without a newline.
    fn raw(&mut self, s: &str) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{s}");
        let _ = err.flush();
        self.mid_line = !s.ends_with('\n');
    }

    pub fn handle(&mut self, ev: &ExecEvent) {
        match ev {
            ExecEvent::Status(s) => {
                let s = self.paint("36", &format!("» {s}"));
                self.line(s)
            }
            ExecEvent::Loop(ev) => self.loop_event(ev),
            ExecEvent::Gate(g) => self.gate(g),
        }
    }

    /// A failed gate run's last lines (its status line says pass or fail).
    fn gate(&mut self, g: &crate::api::gate::GateRun) {
        if g.status != crate::api::gate::GateStatus::Failed {
            return;
        }
        let lines: Vec<&str> = g.output.lines().collect();
        let tail = lines[lines.len().saturating_sub(GATE_LINES)..].join("\n  ");
        let s = self.paint("31", &format!("✗ gate output (last lines):\n  {tail}"));
        self.line(s);
    }

    fn loop_event(&mut self, ev: &LoopEvent) {
        match ev {
            LoopEvent::TurnStarted { turn, max_turns } => {
                self.open_calls.clear();
                let s = self.paint("1", &format!("── turn {turn}/{max_turns} ──"));
                self.line(s);
            }
            LoopEvent::Stream { event, .. } => self.stream_event(event),
            LoopEvent::Message { turn, message } => self.message(*turn, message),
            LoopEvent::TurnFinished(TurnStats {
                elapsed_ms,
                usage,
                timings,
                attempts,
                ..
            }) => {
                let summary = turn_summary(*elapsed_ms, *usage, *timings, *attempts);
                let s = self.paint("2", &summary);
                self.line(s);
            }
        }
    }

    /// Streamed text as it arrives; a tool call's header once, then its arguments.
    fn stream_event(&mut self, event: &StreamEvent) {
        match event {
            StreamEvent::Content(t) => self.raw(&terminal_safe(t)),
            StreamEvent::ToolCall {
                index,
                name,
                arguments,
                ..
            } => {
                if !self.open_calls.contains(index) {
                    self.open_calls.push(*index);
                    let head = self.paint("35", &format!("→ {}", name.as_deref().unwrap_or("?")));
                    self.line(head);
                    self.raw("  ");
                }
                let a = self.paint("2", arguments);
                self.raw(&a);
            }
            StreamEvent::PromptProgress { .. } => {}
            StreamEvent::Retry { attempt, reason } => {
                self.open_calls.clear();
                let s = self.paint("33", &format!("! retry {attempt}: {reason}"));
                self.line(s);
            }
        }
    }

    /// A tool result collapsed to its first lines; a nudge after the opening turn.
    fn message(&mut self, turn: u32, message: &Message) {
        match message.role {
            Role::Tool => {
                let text = message.text();
                let total = text.lines().count();
                let mut shown: Vec<String> = text
                    .lines()
                    .take(RESULT_LINES)
                    .map(|l| format!("  {}", truncate(l, 160)))
                    .collect();
                if total > RESULT_LINES {
                    shown.push(format!("  … {} more lines", total - RESULT_LINES));
                }
                let name = message.name.as_deref().unwrap_or("tool");
                let s = self.paint("2", &format!("← {name}\n{}", shown.join("\n")));
                self.line(s);
            }
            Role::User if turn > 0 => {
                let s = self.paint("33", &format!("» nudge: {}", message.text()));
                self.line(s);
            }
            _ => {}
        }
    }
}

/// `· N prompt + M completion tokens, X tok/s, S s[, K attempts]`.
fn turn_summary(
    elapsed_ms: u64,
    usage: Option<Usage>,
    timings: Option<Timings>,
    attempts: u32,
) -> String {
    let mut parts = Vec::new();
    if let Some(u) = usage {
        parts.push(format!(
            "{} prompt + {} completion tokens",
            u.prompt_tokens, u.completion_tokens
        ));
    }
    if let Some(tps) = timings.and_then(|t| t.predicted_per_second) {
        parts.push(format!("{tps:.1} tok/s"));
    }
    parts.push(format!("{:.1} s", elapsed_ms as f64 / 1000.0));
    if attempts > 1 {
        parts.push(format!("{attempts} attempts"));
    }
    format!("· {}", parts.join(", "))
}

impl Default for Printer {
    fn default() -> Self {
        Self::new()
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turn_summary_names_tokens_speed_time_and_retries() {
        let usage = Usage {
            prompt_tokens: 120,
            completion_tokens: 30,
            total_tokens: 150,
        };
        let timings = Timings {
            predicted_per_second: Some(42.25),
            ..Default::default()
        };
        assert_eq!(
            turn_summary(2500, Some(usage), Some(timings), 2),
            "· 120 prompt + 30 completion tokens, 42.2 tok/s, 2.5 s, 2 attempts"
        );
        // A server without usage or timings, first attempt: only the time.
        assert_eq!(turn_summary(40, None, None, 1), "· 0.0 s");
    }
}
