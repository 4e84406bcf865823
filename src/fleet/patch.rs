//! A planned status write applied to a stored object: the JSON merge patch (RFC 7386) the
//! scheduler sends the apiserver, applied locally by the embedded backend with the same
//! optimistic lock on `metadata.resourceVersion`, so both backends take one plan the same way.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PatchError {
    /// The patch was planned against another version of the object (the apiserver's 409).
    #[error(
        "the object changed since the patch was planned (resourceVersion {planned:?}, now {found:?})"
    )]
    Conflict {
        planned: String,
        found: Option<String>,
    },
    /// The patched object no longer fits its type.
    #[error("the patched object is invalid: {0}")]
    Invalid(String),
}

/// `obj` with `patch` merged in, or why not. A `metadata.resourceVersion` in the patch must
/// equal the object's, as the apiserver requires.
pub fn apply_merge_patch<T: Serialize + DeserializeOwned>(
    obj: &T,
    patch: &Value,
) -> Result<T, PatchError> {
    let mut doc = serde_json::to_value(obj).map_err(|e| PatchError::Invalid(e.to_string()))?;
    if let Some(planned) = patch
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
    {
        let found = doc
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str);
        if found != Some(planned) {
            return Err(PatchError::Conflict {
                planned: planned.to_string(),
                found: found.map(str::to_string),
            });
        }
    }
    json_patch::merge(&mut doc, patch);
    serde_json::from_value(doc).map_err(|e| PatchError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{AgenticTask, TaskPhase};
    use serde_json::json;

    fn task(rv: Option<&str>) -> AgenticTask {
        let yaml = "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: AgenticTask\nmetadata: {name: t}\nspec:\n  kind: freeform\n  payload: {prompt: x}\n";
        let crate::api::Object::Task(mut t) = crate::api::load_str("t", yaml).unwrap().remove(0)
        else {
            panic!("not a task")
        };
        t.metadata.resource_version = rv.map(str::to_string);
        *t
    }

    #[test]
    fn merges_status_and_replaces_lists_whole() {
        let mut t = task(None);
        crate::fleet::status::set_condition(&mut t, "Scheduled", false, "A", "a");
        crate::fleet::status::set_condition(&mut t, "Other", true, "B", "b");
        let patch = json!({"status": {"phase": "Scheduled", "assignedNode": "n",
            "conditions": [{"type": "Scheduled", "status": "True", "reason": "R", "message": "m",
                            "lastTransitionTime": "2024-01-01T00:00:00Z"}]}});
        let out = apply_merge_patch(&t, &patch).unwrap();
        let s = out.status.unwrap();
        assert_eq!(s.phase, Some(TaskPhase::Scheduled));
        assert_eq!(s.assigned_node.as_deref(), Some("n"));
        assert_eq!(
            s.conditions.unwrap().len(),
            1,
            "a merge patch replaces arrays"
        );
        assert_eq!(out.spec, t.spec);
        // null deletes a field.
        let out = apply_merge_patch(&t, &json!({"status": {"conditions": null}})).unwrap();
        assert!(out.status.unwrap().conditions.is_none());
    }

    #[test]
    fn the_resource_version_is_an_optimistic_lock() {
        let t = task(Some("7"));
        let patch =
            |rv: &str| json!({"metadata": {"resourceVersion": rv}, "status": {"phase": "Pending"}});
        assert!(apply_merge_patch(&t, &patch("7")).is_ok());
        assert_eq!(
            apply_merge_patch(&t, &patch("6")),
            Err(PatchError::Conflict {
                planned: "6".into(),
                found: Some("7".into())
            })
        );
        assert!(matches!(
            apply_merge_patch(&t, &json!({"status": {"phase": "Nope"}})),
            Err(PatchError::Invalid(_))
        ));
    }
}
