//! Decisions on tasks another node ran (issue 13 §1): written on the task as the
//! [`ANNOTATION`], guarded by the task's resourceVersion, for the holding node's worker to
//! carry out; and withdrawn the same way while no node has taken them. The protocol is in
//! [`crate::fleet::decision`].

use super::{Ctx, explain};
use crate::api::AgenticTask;
use crate::fleet::TaskKey;
use crate::fleet::decision::{ANNOTATION, Action, Decision, Stage, may_decide};
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

fn api(client: &Client, key: &TaskKey) -> Api<AgenticTask> {
    Api::namespaced(client.clone(), &key.namespace)
}

fn node_of(t: &AgenticTask) -> String {
    (t.status.as_ref().and_then(|s| s.assigned_node.clone())).unwrap_or_else(|| "?".into())
}

/// Sets (or with `None` removes) the decision annotation, only if the task is still at `rv`
/// (no `rv`: whatever its version). `Ok(false)`: it changed meanwhile (409).
async fn annotate(
    client: &Client,
    key: &TaskKey,
    rv: Option<&str>,
    value: Option<String>,
) -> Result<bool, String> {
    let mut body = json!({ "metadata": {
        "annotations": { ANNOTATION: value.map_or(Value::Null, Value::String) },
    }});
    if let Some(rv) = rv {
        body["metadata"]["resourceVersion"] = rv.into();
    }
    let pp = PatchParams {
        field_manager: Some(super::FIELD_MANAGER.into()),
        ..Default::default()
    };
    match api(client, key)
        .patch(&key.name, &pp, &Patch::Merge(&body))
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
        Err(e) => Err(format!("cannot write on {key}: {}", explain(&e))),
    }
}

async fn get(client: &Client, key: &TaskKey) -> Result<AgenticTask, String> {
    api(client, key)
        .get_opt(&key.name)
        .await
        .map_err(|e| format!("cannot read task {key}: {}", explain(&e)))?
        .ok_or_else(|| format!("no task {key} in the cluster"))
}

/// Writes `action` on `t` (read just before) for its node to carry out. When another console
/// decided first, the answer says whose decision won and that this one was not recorded.
pub(super) async fn write(
    ctx: &Ctx,
    t: AgenticTask,
    action: Action,
    feedback: Option<&str>,
) -> Result<String, String> {
    let (msg, _) = write_as(&ctx.client, &ctx.who, t, action, feedback).await?;
    Ok(msg)
}

/// [`write`] by `who` (the kubeconfig's `user@context`) without a console: the message and
/// the decision written (`foreman review` waits on its id).
pub(super) async fn write_as(
    client: &Client,
    who: &str,
    mut t: AgenticTask,
    action: Action,
    feedback: Option<&str>,
) -> Result<(String, Decision), String> {
    let key = TaskKey::of(&t);
    let d = Decision::new(action, feedback, who, jiff::Timestamp::now())?;
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
        if annotate(client, &key, rv.as_deref(), Some(d.to_json())).await? {
            let msg = format!(
                "{key}: {} written; node {} carries it out",
                action.label(),
                node_of(&t)
            );
            return Ok((msg, d));
        }
        t = get(client, &key).await?;
    }
    Err(format!(
        "{key} kept changing while the decision was sent; look again and retry"
    ))
}

/// Clears the decision of a task being re-queued: it belonged to the attempt that ended, and
/// with its mark gone (the status starts afresh) it would look pending to the next run's node.
pub(super) async fn forget(ctx: &Ctx, t: &AgenticTask) -> Result<(), String> {
    if Decision::of(t).is_none() {
        return Ok(());
    }
    let key = TaskKey::of(t);
    annotate(&ctx.client, &key, None, None)
        .await
        .map(|_| ())
        .map_err(|e| format!("its old decision was not cleared ({e}); re-queue it again"))
}

/// Withdraws the task's pending decision (`u`); refused once its node has taken it.
pub(super) async fn withdraw(ctx: &Ctx, key: &TaskKey) -> Result<String, String> {
    for _ in 0..3 {
        let t = get(&ctx.client, key).await?;
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
        if annotate(&ctx.client, key, rv.as_deref(), None).await? {
            return Ok(format!("{key}: withdrew {}", d.describe()));
        }
    }
    Err(format!(
        "{key} kept changing while the withdrawal was sent; look again"
    ))
}

/// Requests changes on `key` as `who`, for the node that ran it (this node's own worker too,
/// which runs the revision from the workspace there: `k8s::worker::revise`).
pub(super) async fn request(
    client: &Client,
    who: &str,
    key: &TaskKey,
    feedback: &str,
) -> Result<(String, Decision), String> {
    let t = get(client, key).await?;
    if t.status
        .as_ref()
        .and_then(|s| s.assigned_node.as_ref())
        .is_none()
    {
        return Err(format!(
            "{key}: no node is assigned; only the node that ran the task can revise it"
        ));
    }
    write_as(client, who, t, Action::RequestChanges, Some(feedback)).await
}

/// `foreman review --request-changes` on a cluster, as `cluster`'s user: the message and the
/// decision written (its id names the mark the node writes when it carries it out).
pub async fn request_changes(
    cluster: &crate::k8s::Cluster,
    key: &TaskKey,
    feedback: &str,
) -> Result<(String, Decision), String> {
    request(&cluster.client, &cluster.who, key, feedback).await
}
