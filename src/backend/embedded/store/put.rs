//! The submit's writes: a task as Pending (with its summary), and the verb of an Agent or
//! Workload upsert.

use super::db::{self, Kind};
use super::import::to_json;
use super::{StoreError, active, summaries};
use crate::api::{AgenticTask, TaskPhase};
use crate::fleet::TaskKey;
use crate::fleet::status::now;

/// Writes a submitted task as Pending at a new resourceVersion: "created", or "replaced" when
/// `replace` and no run holds the stored one.
pub(super) fn put_task(
    tx: &rusqlite::Transaction,
    t: &mut AgenticTask,
    key: &TaskKey,
    replace: bool,
) -> Result<&'static str, StoreError> {
    let verb = match db::get(tx, Kind::Task, &key.namespace, &key.name)? {
        None => "created",
        Some(_) if !replace => return Err(StoreError::Duplicate(key.clone())),
        Some((_, text)) => {
            if let Ok(old) = serde_json::from_str::<AgenticTask>(&text)
                && active(&old)
            {
                return Err(StoreError::Active {
                    key: key.clone(),
                    state: format!("{:?}", crate::fleet::task_state(&old)),
                    hint: ", then submit with --replace",
                });
            }
            "replaced"
        }
    };
    let rv = db::bump(tx)?;
    t.metadata.namespace = Some(key.namespace.clone());
    t.metadata.resource_version = Some(rv.to_string());
    t.metadata.creation_timestamp = Some(now());
    t.status = Some(crate::api::AgenticTaskStatus {
        phase: Some(TaskPhase::Pending),
        ..Default::default()
    });
    db::put(
        tx,
        Kind::Task,
        &key.namespace,
        &key.name,
        rv,
        &to_json(&*t)?,
    )?;
    summaries::put(tx, t, rv)?;
    Ok(verb)
}

/// "created", "replaced" or "unchanged" for an Agent or Workload (`same`: the stored spec
/// equals the new one; None: not stored).
pub(super) fn upsert_verb(
    same: Option<bool>,
    replace: bool,
    kind: &'static str,
    ns: &str,
    name: &str,
) -> Result<&'static str, StoreError> {
    match same {
        None => Ok("created"),
        Some(true) => Ok("unchanged"),
        Some(false) if replace => Ok("replaced"),
        Some(false) => Err(StoreError::Exists {
            kind,
            name: format!("{ns}/{name}"),
        }),
    }
}

pub(super) fn unreachable_kind() -> Result<(), StoreError> {
    Err(StoreError::Db(
        "a FleetNode reached the store's submit".into(),
    ))
}
