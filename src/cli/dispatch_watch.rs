//! `foreman dispatch --watch`: after the tasks are created, follow them until each run has
//! ended (GO awaiting approval counts as ended: the operator decides next), print a line per
//! outcome as it comes, and a summary table at the end (upstream HEAD's `dispatch` prints one
//! too). The exit code says whether every task ended GO, so a script can wait on a batch.
//! Ctrl-C stops the watching, never the tasks.

use super::common::Exit;
use crate::api::{AgenticTask, Verdict};
use crate::fleet::status::result_extra;
use crate::fleet::{TaskKey, TaskState, task_state};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How often the tasks are read again.
const EVERY: Duration = Duration::from_millis(500);

/// Whether the task's run has ended (its outcome will not change without the operator).
pub fn settled(t: &AgenticTask) -> bool {
    !matches!(
        task_state(t),
        TaskState::Pending | TaskState::Waiting | TaskState::Scheduled | TaskState::Running
    )
}

fn ended_go(t: &AgenticTask) -> bool {
    t.status.as_ref().and_then(|s| s.verdict) == Some(Verdict::Go)
}

/// What a finished task came to, in a few words: its state, the condition's reason, and where
/// its change is (the PR, else the branch). No model text: the table stays one line per task.
fn cells(t: &AgenticTask, took: Option<Duration>) -> Vec<String> {
    let s = t.status.clone().unwrap_or_default();
    let e = result_extra(t);
    let reason = s
        .conditions
        .as_ref()
        .and_then(|c| c.last())
        .map(|c| c.reason.clone())
        .unwrap_or_default();
    let issue = t
        .spec
        .payload
        .issue
        .map(|n| format!("#{n}"))
        .unwrap_or_default();
    let verdict = s.verdict.map(|v| v.as_str().to_string());
    let place = e.pr_url.or(s.branch).unwrap_or_default();
    let name = t.metadata.name.clone().unwrap_or_default();
    vec![
        name,
        issue,
        verdict.unwrap_or_else(|| "-".into()),
        format!("{:?}", task_state(t)),
        reason,
        took.map(human).unwrap_or_default(),
        place,
    ]
    .into_iter()
    .map(|c| crate::oai::terminal_safe(&c).into_owned())
    .collect()
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// One finished task as a sentence: `NAME (#N) ended INCOMPLETE: Failed (Reason) after 3s;
/// foreman/issue-N`.
fn outcome_line(t: &AgenticTask, took: Duration) -> String {
    let c = cells(t, Some(took));
    let (name, issue, verdict, state, reason, took, place) =
        (&c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6]);
    let mut out = format!("{name} ({issue}) ended {verdict}: {state}");
    if !reason.is_empty() {
        out.push_str(&format!(" ({reason})"));
    }
    out.push_str(&format!(" after {took}"));
    if !place.is_empty() {
        out.push_str(&format!("; {place}"));
    }
    out
}

/// The summary table: every task, finished or not, in dispatch order.
pub fn summary(tasks: &[(AgenticTask, Option<Duration>)]) -> String {
    let mut lines = vec![
        [
            "TASK", "ISSUE", "VERDICT", "STATE", "REASON", "TOOK", "CHANGE",
        ]
        .map(String::from)
        .to_vec(),
    ];
    lines.extend(tasks.iter().map(|(t, took)| cells(t, *took)));
    super::get::align(&lines)
}

/// Where the tasks are read from.
pub enum Source {
    Store(Box<crate::backend::embedded::Store>),
    Cluster(Box<kube::Api<AgenticTask>>),
}

impl Source {
    async fn read(&mut self, keys: &[TaskKey]) -> Result<Vec<Option<AgenticTask>>, String> {
        match self {
            Source::Store(s) => {
                s.refresh().map_err(|e| e.to_string())?;
                Ok(keys.iter().map(|k| s.task(k).cloned()).collect())
            }
            Source::Cluster(api) => {
                let mut out = Vec::with_capacity(keys.len());
                for k in keys {
                    out.push(api.get_opt(&k.name).await.map_err(|e| e.to_string())?);
                }
                Ok(out)
            }
        }
    }
}

/// Follows `keys` until every run has ended, printing each outcome; then the summary.
pub async fn watch(mut source: Source, keys: Vec<TaskKey>, local: bool) -> Exit {
    if local {
        println!(
            "watching {} task(s); they run in a console on this machine (`foreman console`). \
             Ctrl-C stops watching, not the tasks.",
            keys.len()
        );
    } else {
        println!(
            "watching {} task(s); Ctrl-C stops watching, not the tasks.",
            keys.len()
        );
    }
    let started = Instant::now();
    let mut done: BTreeMap<usize, Duration> = BTreeMap::new();
    let mut last: Vec<Option<AgenticTask>> = vec![None; keys.len()];
    let mut failures = 0u32;
    let interrupted = loop {
        match source.read(&keys).await {
            Ok(now) => {
                failures = 0;
                for (i, t) in now.iter().enumerate() {
                    if let Some(t) = t
                        && settled(t)
                        && !done.contains_key(&i)
                    {
                        done.insert(i, started.elapsed());
                        println!("{}", outcome_line(t, started.elapsed()));
                    }
                }
                last = now;
            }
            Err(e) => {
                failures += 1;
                eprintln!("warning: cannot read the tasks ({e}); trying again");
                if failures >= 20 {
                    eprintln!("error: gave up reading the tasks after 20 tries");
                    break false;
                }
            }
        }
        if done.len() == keys.len() {
            break false;
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = tokio::signal::ctrl_c() => break true,
        }
    };
    let rows: Vec<(AgenticTask, Option<Duration>)> = last
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.clone().map(|t| (t, done.get(&i).copied())))
        .collect();
    println!();
    print!("{}", summary(&rows));
    let missing = keys.len() - rows.len();
    if missing > 0 {
        eprintln!("warning: {missing} task(s) were deleted while being watched");
    }
    let go = rows.iter().filter(|(t, _)| ended_go(t)).count();
    if interrupted {
        println!(
            "stopped watching: {} of {} ended; the rest go on",
            done.len(),
            keys.len()
        );
        return Exit::Interrupted;
    }
    println!("{go} of {} task(s) ended GO", keys.len());
    if go == keys.len() {
        Exit::Ok
    } else {
        Exit::Failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{AgenticTaskStatus, TaskPhase};
    use serde_json::json;

    fn task(
        name: &str,
        phase: Option<TaskPhase>,
        verdict: Option<Verdict>,
        extra: serde_json::Value,
    ) -> AgenticTask {
        let yaml = format!(
            "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {{name: {name}}}\nspec:\n  kind: issue-fix\n  payload: {{repo: acme/fleet, issue: 4, prompt: x}}\n"
        );
        let crate::api::Object::Task(mut t) = crate::api::load_str("t", &yaml).unwrap().remove(0)
        else {
            panic!("not a task")
        };
        t.status = Some(AgenticTaskStatus {
            phase,
            verdict,
            branch: Some("foreman/issue-4".into()),
            result: Some(json!({ "extra": extra })),
            ..Default::default()
        });
        *t
    }

    #[test]
    fn a_run_has_ended_once_it_is_past_running_awaiting_approval_included() {
        let awaiting = task(
            "a",
            Some(TaskPhase::Succeeded),
            Some(Verdict::Go),
            json!({"pushed": false}),
        );
        assert!(settled(&awaiting));
        assert!(ended_go(&awaiting));
        let running = task("b", Some(TaskPhase::Running), None, json!({}));
        assert!(!settled(&running));
        let pending = task("c", None, None, json!({}));
        assert!(!settled(&pending));
        let failed = task(
            "d",
            Some(TaskPhase::Failed),
            Some(Verdict::Incomplete),
            json!({}),
        );
        assert!(settled(&failed));
        assert!(!ended_go(&failed));
    }

    #[test]
    fn an_outcome_line_reads_as_a_sentence() {
        let mut t = task(
            "dispatch-4-x",
            Some(TaskPhase::Failed),
            Some(Verdict::Incomplete),
            json!({}),
        );
        assert_eq!(
            outcome_line(&t, Duration::from_secs(3)),
            "dispatch-4-x (#4) ended INCOMPLETE: Failed after 3s; foreman/issue-4"
        );
        crate::fleet::status::set_condition(&mut t, "Failed", true, "MaxTurnsExhausted", "m");
        let line = outcome_line(&t, Duration::from_secs(3));
        assert!(
            line.contains("Failed (MaxTurnsExhausted) after 3s"),
            "{line}"
        );
    }

    #[test]
    fn the_summary_has_one_aligned_row_per_task_with_the_pr_over_the_branch() {
        let pr = task(
            "dispatch-4-x",
            Some(TaskPhase::Succeeded),
            Some(Verdict::Go),
            json!({"pushed": true, "prUrl": "https://github.com/acme/fleet/pull/9"}),
        );
        let mut nogo = task(
            "dispatch-5-x",
            Some(TaskPhase::Succeeded),
            Some(Verdict::NoGo),
            json!({}),
        );
        // Another writer's branch name is not trusted to be free of escapes.
        nogo.status.as_mut().unwrap().branch = Some("foreman/issue-4\u{1b}[2J".into());
        let table = summary(&[(pr, Some(Duration::from_secs(75))), (nogo, None)]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(lines[0].starts_with("TASK"), "{table}");
        assert!(
            lines[1].contains("GO") && lines[1].contains("PrOpen"),
            "{table}"
        );
        assert!(lines[1].contains("1m15s"), "{table}");
        assert!(
            lines[1].ends_with("https://github.com/acme/fleet/pull/9"),
            "{table}"
        );
        assert!(
            lines[2].contains("NO-GO") && lines[2].ends_with("foreman/issue-4"),
            "{table}"
        );
        assert!(
            !table.contains('\u{1b}'),
            "an escape reached the terminal: {table:?}"
        );
        // Aligned: the ISSUE column starts at the same place on every line.
        let col = lines[0].find("ISSUE").unwrap();
        assert_eq!(&lines[1][col..col + 2], "#4", "{table}");
    }
}
