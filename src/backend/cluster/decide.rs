//! Decisions on tasks another node ran (issue 13 §1): written on the task as the
//! [`ANNOTATION`], guarded by the task's resourceVersion, for the holding node's worker to
//! carry out; and withdrawn the same way while no node has taken them. The protocol is in
//! [`crate::fleet::decision`].

use super::{Ctx, explain};
use crate::api::AgenticTask;
use crate::fleet::TaskKey;
use crate::fleet::decision::{ANNOTATION, Action, Decision, Stage, may_decide};
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

fn api(ctx: &Ctx, key: &TaskKey) -> Api<AgenticTask> {
    Api::namespaced(ctx.client.clone(), &key.namespace)
}

fn node_of(t: &AgenticTask) -> String {
    (t.status.as_ref().and_then(|s| s.assigned_node.clone())).unwrap_or_else(|| "?".into())
}

/// Sets (or with `None` removes) the decision annotation, only if the task is still at `rv`.
/// `Ok(false)`: it changed meanwhile (409).
async fn annotate(
    ctx: &Ctx,
    key: &TaskKey,
    rv: Option<&str>,
    value: Option<String>,
) -> Result<bool, String> {
    let body = json!({ "metadata": {
        "resourceVersion": rv,
        "annotations": { ANNOTATION: value.map_or(Value::Null, Value::String) },
    }});
    let pp = PatchParams {
        field_manager: Some(super::FIELD_MANAGER.into()),
        ..Default::default()
    };
    match api(ctx, key)
        .patch(&key.name, &pp, &Patch::Merge(&body))
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
        Err(e) => Err(format!("cannot write on {key}: {}", explain(&e))),
    }
}

async fn get(ctx: &Ctx, key: &TaskKey) -> Result<AgenticTask, String> {
    api(ctx, key)
        .get_opt(&key.name)
        .await
        .map_err(|e| format!("cannot read task {key}: {}", explain(&e)))?
        .ok_or_else(|| format!("no task {key} in the cluster"))
}

/// Writes `action` on `t` (read just before) for its node to carry out. When another console
/// decided first, the answer says whose decision won and that this one was not recorded.
pub(super) async fn write(
    ctx: &Ctx,
    mut t: AgenticTask,
    action: Action,
    feedback: Option<&str>,
) -> Result<String, String> {
    let key = TaskKey::of(&t);
    let d = Decision::new(action, feedback, &ctx.who, jiff::Timestamp::now())?;
    for _ in 0..3 {
        may_decide(&t, action).map_err(|e| match Stage::of(&t).open() {
            Some(won) if won.id != d.id => format!(
                "{key}: {} won; yours ({}) was not recorded",
                won.describe(),
                action.label()
            ),
            _ => format!("{key}: {e}"),
        })?;
        let rv = t.metadata.resource_version.clone();
        if annotate(ctx, &key, rv.as_deref(), Some(d.to_json())).await? {
            return Ok(format!(
                "{key}: {} written; node {} carries it out",
                action.label(),
                node_of(&t)
            ));
        }
        t = get(ctx, &key).await?;
    }
    Err(format!(
        "{key} kept changing while the decision was sent; look again and retry"
    ))
}

/// Withdraws the task's pending decision (`u`); refused once its node has taken it.
pub(super) async fn withdraw(ctx: &Ctx, key: &TaskKey) -> Result<String, String> {
    for _ in 0..3 {
        let t = get(ctx, key).await?;
        let d = match Stage::of(&t) {
            Stage::Pending(d) => d,
            Stage::Taken(d) => {
                return Err(format!(
                    "{key}: node {} is already carrying out {}; it cannot be withdrawn",
                    node_of(&t),
                    d.action.label()
                ));
            }
            _ => return Err(format!("{key} has no pending decision to withdraw")),
        };
        let rv = t.metadata.resource_version.clone();
        if annotate(ctx, key, rv.as_deref(), None).await? {
            return Ok(format!("{key}: withdrew {}", d.describe()));
        }
    }
    Err(format!(
        "{key} kept changing while the withdrawal was sent; look again"
    ))
}
