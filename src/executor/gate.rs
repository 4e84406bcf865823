//! The coder gate (issue 12): after a GO commit, the Agent's (or task's) `gate.commands` run
//! one after another in the same sandbox and workspace as the model's `bash` (so the token is
//! as unreachable to them as to the model), inside one budget. The first failure fails the
//! gate; what happens then is the run's policy (`onFail`), decided in `run`.

use crate::api::gate::{CoderGate, GateRun, GateStatus};
use crate::api::{Agent, AgenticTask};
use crate::tools::Registry;
use std::time::Instant;

/// Bytes of the gate's output kept at each end (the error at the end of a long log survives).
const KEEP: usize = 8 * 1024;

/// The gate this run uses: the task's own, else its Agent's; none without commands.
pub fn gate_of(task: &AgenticTask, agent: &Agent) -> Option<CoderGate> {
    task.spec
        .gate
        .clone()
        .or_else(|| agent.spec.gate.clone())
        .filter(|g| g.commands.iter().any(|c| !c.trim().is_empty()))
}

/// A gate run that has started (the console shows it pending).
pub fn pending(attempt: u32, commit: &str) -> GateRun {
    GateRun {
        status: GateStatus::Pending,
        attempt,
        duration_ms: 0,
        command: None,
        exit_code: None,
        timed_out: false,
        output: String::new(),
        commit: Some(commit.to_string()),
    }
}

/// Runs the gate's commands in order within its timeout.
pub async fn run(gate: &CoderGate, registry: &Registry, attempt: u32, commit: &str) -> GateRun {
    let started = Instant::now();
    let budget = gate.timeout();
    let mut out = String::new();
    let mut failed: Option<(String, Option<i32>, bool)> = None;
    for command in gate.commands.iter().filter(|c| !c.trim().is_empty()) {
        out.push_str(&format!("$ {command}\n"));
        let left = budget.saturating_sub(started.elapsed());
        if left.is_zero() {
            out.push_str("(not run: the gate's timeout was used up)\n");
            failed = Some((command.clone(), None, true));
            break;
        }
        match registry.run_command(command, left).await {
            Ok(r) => {
                out.push_str(&r.stdout);
                out.push_str(&r.stderr);
                if r.timed_out {
                    out.push_str(&format!(
                        "\n(killed: the gate's timeout of {}s ran out)\n",
                        budget.as_secs()
                    ));
                    failed = Some((command.clone(), None, true));
                    break;
                }
                if r.exit_code != 0 {
                    out.push_str(&format!("\n(exit code {})\n", r.exit_code));
                    failed = Some((command.clone(), Some(r.exit_code), false));
                    break;
                }
            }
            Err(e) => {
                out.push_str(&format!("(could not run: {e})\n"));
                failed = Some((command.clone(), None, false));
                break;
            }
        }
    }
    let duration_ms = started.elapsed().as_millis() as u64;
    let (status, command, exit_code, timed_out) = match failed {
        None => (GateStatus::Passed, None, None, false),
        Some((c, code, t)) => (GateStatus::Failed, Some(c), code, t),
    };
    GateRun {
        status,
        attempt,
        duration_ms,
        command,
        exit_code,
        timed_out,
        output: head_tail(&out, KEEP),
        commit: Some(commit.to_string()),
    }
}

/// One line saying why a failed gate failed: `` `make test` exited 2 `` / `` … timed out ``.
pub fn failure_line(g: &GateRun, gate: &CoderGate) -> String {
    let cmd = g.command.as_deref().unwrap_or("?");
    match (g.timed_out, g.exit_code) {
        (true, _) => format!(
            "`{cmd}` timed out (gate timeout {}s)",
            gate.timeout().as_secs()
        ),
        (false, Some(code)) => format!("`{cmd}` exited {code}"),
        (false, None) => format!("`{cmd}` could not run"),
    }
}

/// The user message that hands a failed gate back to the model for another round.
pub fn retry_message(g: &GateRun, gate: &CoderGate) -> String {
    format!(
        "{GATE_FAILED_PREFIX} {} (gate run {} of at most {}). The output, head and tail:\n\
         ```\n{}\n```\nFix the cause in the workspace, then call submit_result again with \
         verdict GO and a commit_message for the fix (it is committed on top of your last \
         commit and the gate runs again).",
        failure_line(g, gate),
        g.attempt,
        gate.max_attempts(),
        g.output.trim_end()
    )
}

/// How a gate failure handed back to the model starts (the console marks such messages).
pub const GATE_FAILED_PREFIX: &str = "The coder gate failed on your commit:";

/// `s` cut to its first and last `keep` bytes (on char boundaries) around a marker.
fn head_tail(s: &str, keep: usize) -> String {
    if s.len() <= 2 * keep {
        return s.to_string();
    }
    let mut h = keep;
    while !s.is_char_boundary(h) {
        h -= 1;
    }
    let mut t = s.len() - keep;
    while !s.is_char_boundary(t) {
        t += 1;
    }
    format!(
        "{}\n... [{} bytes omitted] ...\n{}",
        &s[..h],
        t - h,
        &s[t..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_tail_keeps_both_ends_on_char_boundaries() {
        assert_eq!(head_tail("short", 8), "short");
        let s = format!("{}{}{}", "a".repeat(10), "é".repeat(10), "z".repeat(10));
        let cut = head_tail(&s, 11);
        assert!(cut.starts_with("aaaaaaaaaa"), "{cut}");
        assert!(cut.ends_with("zzzzzzzzzz"), "{cut}");
        assert!(cut.contains("bytes omitted"), "{cut}");
    }

    #[test]
    fn the_failure_line_names_the_command_and_why() {
        let gate = CoderGate {
            commands: vec!["make test".into()],
            timeout_seconds: Some(5),
            ..Default::default()
        };
        let mut g = pending(1, "abc");
        g.status = GateStatus::Failed;
        g.command = Some("make test".into());
        g.exit_code = Some(2);
        assert_eq!(failure_line(&g, &gate), "`make test` exited 2");
        g.timed_out = true;
        assert_eq!(
            failure_line(&g, &gate),
            "`make test` timed out (gate timeout 5s)"
        );
        assert!(retry_message(&g, &gate).starts_with(GATE_FAILED_PREFIX));
    }
}
