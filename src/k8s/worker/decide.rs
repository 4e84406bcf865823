//! Decisions written on this node's tasks by any console (issue 13 §1): take the decision
//! (resourceVersion-guarded, before any git work), carry it out from the workspace here,
//! record the outcome and the done-marker. The protocol and why a crash cannot double-push
//! are in [`crate::fleet::decision`].

use super::WorkerConfig;
use crate::api::AgenticTask;
use crate::executor::pr as jobs;
use crate::executor::run::TokenSource;
use crate::fleet::decision::{Action, Decision, MARK_KEY, Mark, Progress, Stage};
use crate::fleet::extra::{PushDecision, ResultExtra};
use crate::fleet::{TaskKey, task_state};
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use std::time::Duration;

const FIELD_MANAGER: &str = "foreman-agent";

/// Whether `t` holds a decision this node carries out here (pending, or taken and
/// unfinished). A request for changes is not one: it becomes a run (`super::revise`).
pub fn holds(t: &AgenticTask, node: &str) -> bool {
    let s = t.status.as_ref();
    s.and_then(|s| s.assigned_node.as_deref()) == Some(node)
        && Stage::of(t)
            .open()
            .is_some_and(|d| d.action != Action::RequestChanges)
}

/// Carries out the open decision on `t`: `Ok` says what came of it (including a decision
/// that failed and was recorded as failed), `Err` that it could not be recorded (the watch
/// brings the task back, and the take-marker makes the retry resume rather than redo).
pub async fn carry_out(
    api: Api<AgenticTask>,
    cfg: WorkerConfig,
    t: AgenticTask,
) -> Result<String, String> {
    let key = TaskKey::of(&t);
    let node = cfg.node.name.clone();
    let Some((t, d, resumed)) = take(&api, &key, t, &node).await? else {
        return Ok(format!("{key}: no decision left to carry out"));
    };
    let outcome = act(&cfg, &t, &d, resumed).await;
    let (stage, message, mut extra) = match outcome {
        Ok((message, extra)) => (Progress::Done, message, extra),
        Err(e) => (Progress::Failed, e, ResultExtra::default()),
    };
    let mark = Mark::new(&d.id, stage, &node, Some(message.clone()));
    extra.other.insert(MARK_KEY.into(), mark.to_value());
    write_extra(&api, &key, None, &extra).await?;
    Ok(format!("{key}: {} — {message}", d.action.label()))
}

/// Writes the take-marker with the version the decision was read at. `None`: nothing to do
/// (withdrawn, or carried out meanwhile). `resumed`: the marker was already there (a crash).
pub(super) async fn take(
    api: &Api<AgenticTask>,
    key: &TaskKey,
    mut t: AgenticTask,
    node: &str,
) -> Result<Option<(AgenticTask, Decision, bool)>, String> {
    for _ in 0..5 {
        match Stage::of(&t) {
            Stage::Taken(d) => return Ok(Some((t, d, true))),
            Stage::Pending(d) => {
                let mark = Mark::new(&d.id, Progress::Taken, node, None);
                let extra = ResultExtra {
                    other: [(MARK_KEY.to_string(), mark.to_value())]
                        .into_iter()
                        .collect(),
                    ..Default::default()
                };
                let rv = t.metadata.resource_version.clone();
                match write_extra(api, key, rv.as_deref(), &extra).await {
                    Ok(taken) => return Ok(Some((taken, d, false))),
                    Err(e) if e.contains("HTTP 409") => {}
                    Err(e) => return Err(e),
                }
            }
            _ => return Ok(None),
        }
        t = api
            .get(&key.name)
            .await
            .map_err(|e| format!("cannot re-read {key}: {e}"))?;
    }
    Err(format!(
        "{key}: the decision kept changing under this node; retrying later"
    ))
}

/// The decision's work, from the workspace here: the outcome line and the extras to record.
async fn act(
    cfg: &WorkerConfig,
    t: &AgenticTask,
    d: &Decision,
    resumed: bool,
) -> Result<(String, ResultExtra), String> {
    d.action.admits(task_state(t))?;
    let at = jiff::Timestamp::now();
    match d.action {
        Action::Approve => {
            let p = jobs::pending_push(t)?;
            let token = token(&cfg.token);
            // After a crash the push may have landed already: ask the remote first.
            let landed = resumed && crate::executor::remote_has(&p, token.clone()).await?;
            if !landed {
                crate::executor::push_pending(&p, token).await?;
            }
            let mut extra = ResultExtra::decided(PushDecision::Approved, &d.by, at);
            extra.other.insert("pushedSHA".into(), p.sha.clone().into());
            let how = if landed {
                " (found on the remote after a restart)"
            } else {
                ""
            };
            Ok((format!("pushed {} at {}{how}", p.branch, p.sha), extra))
        }
        Action::Reject => Ok((
            "push rejected; the workspace is kept".into(),
            ResultExtra::decided(PushDecision::Rejected, &d.by, at),
        )),
        Action::OpenPr => {
            let api_base = cfg
                .github_api_base
                .clone()
                .unwrap_or_else(|| "https://api.github.com".into());
            let pr = jobs::open_pr(t, cfg.git_remote_url.as_deref(), &api_base, &cfg.token).await?;
            Ok((
                pr.url.clone(),
                ResultExtra::pull_request(&pr.url, pr.number),
            ))
        }
        // The claim loop runs it as a revision (`super::revise`); never routed here.
        Action::RequestChanges => {
            Err("request changes is a revision run, not a decision job".into())
        }
    }
}

fn token(src: &TokenSource) -> Option<crate::workspace::Token> {
    match src {
        TokenSource::Given(t) => Some(t.clone()),
        TokenSource::Lookup => crate::workspace::resolve_token().ok(),
    }
}

/// Merges `extra` into `status.result.extra` (with `rv`: only if unchanged since). Without a
/// version it retries transient failures for a short while: the outcome must land.
pub(super) async fn write_extra(
    api: &Api<AgenticTask>,
    key: &TaskKey,
    rv: Option<&str>,
    extra: &ResultExtra,
) -> Result<AgenticTask, String> {
    let mut body = json!({ "status": { "result": { "extra": Value::Object(extra.to_map()) } } });
    if let Some(rv) = rv {
        body["metadata"] = json!({ "resourceVersion": rv });
    }
    let pp = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    let mut last = String::new();
    for attempt in 0..10u64 {
        match api.patch_status(&key.name, &pp, &Patch::Merge(&body)).await {
            Ok(t) => return Ok(t),
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 || s.code == 422 => {
                return Err(format!(
                    "cannot record on {key}: {} (HTTP {})",
                    s.message, s.code
                ));
            }
            Err(e) if rv.is_none() => {
                last = e.to_string();
                tokio::time::sleep(Duration::from_millis(200 * (attempt + 1))).await;
            }
            Err(e) => return Err(format!("cannot record on {key}: {e}")),
        }
    }
    Err(format!("cannot record on {key}: {last}"))
}
