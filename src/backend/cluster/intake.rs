//! The issue picker's task on a cluster (`Command::CreateTask`): the apiserver's tasks of the
//! namespace are read fresh, so an unfinished task for the same issue that another console
//! or `foreman dispatch` created is refused too; then the task is created (never applied).

use super::ops::FIELD_MANAGER;
use super::{Ctx, explain};
use crate::api::AgenticTask;
use crate::fleet::TaskKey;
use kube::api::{Api, ListParams, PostParams};

pub(super) async fn create_task(ctx: &Ctx, mut t: AgenticTask) -> Result<String, String> {
    let ns = t
        .metadata
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| ctx.submit_namespace());
    t.metadata.namespace = Some(ns.clone());
    t.status = None;
    let key = TaskKey::of(&t);
    let api: Api<AgenticTask> = Api::namespaced(ctx.client.clone(), &ns);
    let listed = api.list(&ListParams::default()).await.map_err(|e| {
        format!(
            "{key} not created: cannot list the tasks of {ns}: {}",
            explain(&e)
        )
    })?;
    let dup = crate::github::issue_of(&t)
        .and_then(|(repo, n)| crate::github::duplicate_of(&listed.items, repo, n));
    if let Some(msg) = dup {
        return Err(msg);
    }
    let pp = PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    match api.create(&pp, &t).await {
        Ok(_) => Ok(format!("created {key}{}", crate::github::of_issue(&t))),
        Err(kube::Error::Api(s)) if s.code == 409 => Err(format!(
            "{key} not created: a task of that name already exists"
        )),
        Err(e) => Err(format!("{key} not created: {}", explain(&e))),
    }
}
