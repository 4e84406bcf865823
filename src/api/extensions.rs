//! Our Agent fields that upstream's CRD lacks survive a cluster running upstream's CRDs: the
//! apiserver prunes unknown spec fields silently, so whoever creates an Agent also writes them
//! as JSON into the annotation [`ANNOTATION`] (annotations are never pruned), and our agent
//! puts back the ones the spec lacks before it runs. Under `foreman crds` the spec keeps them
//! and the spec wins, so the annotation is only a carrier, never a second source of truth.

use super::agent::{Agent, AgentSpec};
use serde_json::{Map, Value};

/// The annotation holding the extension fields as one JSON object.
pub const ANNOTATION: &str = "foreman.llmkube.dev/extensions";

/// `spec` fields of ours that upstream HEAD's Agent CRD does not have (the parity test
/// tests/crd_parity.rs proves the rest are upstream's).
pub const FIELDS: [&str; 8] = [
    "toolProtocol",
    "fewShot",
    "stop",
    "convergeTurns",
    "sandbox",
    "maxReplyBytes",
    "gate",
    "maxReviewIterations",
];

/// Writes the set extension fields of `agent` into its annotation (drops the annotation when
/// none is set), so they reach our agent even if the cluster prunes them from the spec.
pub fn annotate(agent: &mut Agent) {
    let carried = extension_fields(&agent.spec);
    let annotations = agent
        .metadata
        .annotations
        .get_or_insert_with(Default::default);
    if carried.is_empty() {
        annotations.remove(ANNOTATION);
    } else {
        annotations.insert(ANNOTATION.to_owned(), Value::Object(carried).to_string());
    }
    if annotations.is_empty() {
        agent.metadata.annotations = None;
    }
}

fn extension_fields(spec: &AgentSpec) -> Map<String, Value> {
    let Ok(Value::Object(all)) = serde_json::to_value(spec) else {
        return Map::new();
    };
    all.into_iter()
        .filter(|(k, _)| FIELDS.contains(&k.as_str()))
        .collect()
}

/// Puts the annotation's extension fields back into `agent.spec` where the spec lacks them;
/// returns the names restored. A malformed annotation is an error naming it, and the spec is
/// left as it was.
pub fn restore(agent: &mut Agent) -> Result<Vec<String>, String> {
    let Some(raw) = agent
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION))
    else {
        return Ok(Vec::new());
    };
    let bad = |e: String| format!("annotation {ANNOTATION} is not usable: {e}");
    let carried: Map<String, Value> = serde_json::from_str(raw).map_err(|e| bad(e.to_string()))?;
    let Ok(Value::Object(mut spec)) = serde_json::to_value(&agent.spec) else {
        return Ok(Vec::new());
    };
    let mut restored = Vec::new();
    for (k, v) in carried {
        if FIELDS.contains(&k.as_str()) && !spec.contains_key(&k) {
            spec.insert(k.clone(), v);
            restored.push(k);
        }
    }
    if restored.is_empty() {
        return Ok(restored);
    }
    agent.spec = serde_json::from_value(Value::Object(spec)).map_err(|e| bad(e.to_string()))?;
    Ok(restored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Object;

    fn agent(extra: &str) -> Agent {
        let yaml = format!(
            "apiVersion: foreman.llmkube.dev/v1alpha1\nkind: Agent\nmetadata: {{name: a}}\nspec:\n  role: coder\n  tools: [bash, submit_result]\n{extra}"
        );
        match crate::api::load_str("t", &yaml).unwrap().remove(0) {
            Object::Agent(a) => *a,
            _ => unreachable!(),
        }
    }

    /// What an apiserver with upstream's CRDs stores: the spec without our fields.
    fn pruned(a: &Agent) -> Agent {
        let mut v = serde_json::to_value(a).unwrap();
        for f in FIELDS {
            v["spec"].as_object_mut().unwrap().remove(f);
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn extensions_survive_a_pruning_cluster_through_the_annotation() {
        let mut a = agent(
            "  maxTurns: 7\n  toolProtocol: json-schema\n  stop: [\"</s>\"]\n  convergeTurns: 2\n  fewShot:\n  - {user: hi, tool: bash, arguments: {command: ls}, result: ok}\n",
        );
        let want = a.spec.clone();
        annotate(&mut a);
        let mut stored = pruned(&a);
        assert_eq!(stored.spec.tool_protocol, None);
        let restored = restore(&mut stored).unwrap();
        assert_eq!(
            restored,
            ["convergeTurns", "fewShot", "stop", "toolProtocol"]
        );
        assert_eq!(stored.spec, want);
    }

    #[test]
    fn the_spec_wins_and_no_extensions_means_no_annotation() {
        let mut plain = agent("");
        annotate(&mut plain);
        assert_eq!(plain.metadata.annotations, None);
        let mut a = agent("  convergeTurns: 2\n");
        annotate(&mut a);
        a.spec.converge_turns = Some(5);
        assert!(restore(&mut a).unwrap().is_empty());
        assert_eq!(a.spec.converge_turns, Some(5));
    }

    #[test]
    fn a_malformed_annotation_is_named_and_changes_nothing() {
        for raw in ["{not json", r#"{"convergeTurns": "many"}"#] {
            let mut a = agent("");
            a.metadata.annotations = Some([(ANNOTATION.to_owned(), raw.to_owned())].into());
            let before = a.spec.clone();
            let e = restore(&mut a).unwrap_err();
            assert!(e.contains(ANNOTATION), "{e}");
            assert_eq!(a.spec, before);
        }
    }

    #[test]
    fn the_fields_are_exactly_ours_that_upstream_lacks() {
        // Each listed field is a real spec field (a typo would carry nothing).
        let a = agent(
            "  toolProtocol: json-schema\n  stop: [x]\n  convergeTurns: 1\n  fewShot: [{tool: bash, arguments: {}}]\n  sandbox: {network: loopback}\n  maxReplyBytes: 4096\n  gate: {commands: [make test]}\n  maxReviewIterations: 2\n",
        );
        let carried = extension_fields(&a.spec);
        assert_eq!(carried.len(), FIELDS.len(), "{carried:?}");
    }
}
