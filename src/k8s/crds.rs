//! `foreman crds`: the four CRDs (Agent, AgenticTask, FleetNode, Workload) as one
//! multi-document YAML, generated from the `api` types so the cluster schema cannot drift from
//! what the console reads and writes.
//!
//! kube's derive already runs kube-core's structural-schema transforms (`StructuralSchemaRewriter`,
//! `OptionalEnum`, inlined subschemas: no `$ref`/`definitions`, no top-level `oneOf`). What it
//! cannot express is patched here on the typed schema, each step saying why; the target is
//! Kubernetes 1.20 (no CEL, so no `x-kubernetes-validations` is ever emitted).

use crate::api::common::{CONDITION_MESSAGE_MAX, CONDITION_REASON, CONDITION_TYPE};
use crate::api::{Agent, AgenticTask, FleetNode, Workload};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSON, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use kube::CustomResourceExt;

/// Why the manifests could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum CrdsError {
    #[error("cannot render the CRDs as YAML (a bug in foreman, please report it): {0}")]
    Yaml(#[from] crate::api::yaml::SerializeError),
}

/// The four CRDs, ready for `kubectl apply` on Kubernetes 1.20 or newer.
pub fn crds() -> Vec<CustomResourceDefinition> {
    let mut all = vec![
        Agent::crd(),
        AgenticTask::crd(),
        FleetNode::crd(),
        Workload::crd(),
    ];
    for crd in &mut all {
        for version in &mut crd.spec.versions {
            if let Some(schema) = version
                .schema
                .as_mut()
                .and_then(|s| s.open_api_v3_schema.as_mut())
            {
                fix_schema(schema);
                type_meta(schema);
            }
        }
    }
    all
}

/// The object's own `apiVersion`, `kind` and `metadata`, which controller-gen lists in every
/// upstream schema and kube's derive leaves out (the apiserver knows them either way; listing
/// them keeps `kubectl explain` and the parity test the same as upstream).
fn type_meta(root: &mut JSONSchemaProps) {
    let props = root.properties.get_or_insert_with(Default::default);
    for (name, ty) in [
        ("apiVersion", "string"),
        ("kind", "string"),
        ("metadata", "object"),
    ] {
        props
            .entry(name.to_owned())
            .or_insert_with(|| JSONSchemaProps {
                type_: Some(ty.to_owned()),
                ..Default::default()
            });
    }
}

/// [`crds`] as `---`-separated YAML documents (what `foreman crds` prints).
pub fn crds_yaml() -> Result<String, CrdsError> {
    let mut out = String::new();
    for crd in crds() {
        out.push_str("---\n");
        out.push_str(&crate::api::yaml::to_string(&crd)?);
    }
    Ok(out)
}

/// Recursive fix-ups of one schema node and everything under it.
fn fix_schema(s: &mut JSONSchemaProps) {
    // kube-core's `OptionalEnum` keeps `null` as an enum member next to `nullable: true`.
    // kubectl 1.20's client-side validation rejects it ("unknown object type nil"), and
    // `nullable: true` alone already admits null, so drop it.
    if let Some(values) = s.enum_.as_mut() {
        values.retain(|v| !v.0.is_null());
    }
    // `serde_json::Value` fields (e.g. Agent `fewShot[].arguments`) come out of schemars with
    // no `type`, which a structural schema forbids unless unknown fields are preserved.
    if s.type_.is_none()
        && s.properties.is_none()
        && s.items.is_none()
        && s.x_kubernetes_int_or_string.is_none()
        && s.x_kubernetes_preserve_unknown_fields.is_none()
    {
        s.x_kubernetes_preserve_unknown_fields = Some(true);
    }
    // kube-core marks every `Option` nullable. Upstream marks nothing nullable: an unset field
    // is omitted, and since 1.20 the apiserver prunes an explicit null from a field that is
    // not nullable instead of storing it. Our writers skip `None` (`skip_serializing_if`),
    // and a merge patch's null still deletes the field, so nothing needs null stored...
    s.nullable = None;
    // ...except an empty string. `#[serde(default)]` on a `String` becomes `default: ""`
    // (upstream has it on `LocalObjectReference.name` and Secret refs). The testbed's 1.20
    // apiserver reads `""` in a custom resource as null, so it refuses that default ("must be
    // of type string") and rejects objects carrying `""` (examples/tiny-agent.yaml's last
    // `fewShot[].user`). Absent, null and "" all mean "empty" for these fields, so the
    // default is dropped and null admitted: the one nullable kind of field, and the one
    // difference from upstream the parity test allows.
    if s.default.as_ref().is_some_and(|d| d.0.as_str() == Some("")) {
        s.default = None;
        s.nullable = Some(true);
    }
    if let Some(props) = s.properties.as_mut() {
        for (name, child) in props.iter_mut() {
            // Upstream declares every `[]metav1.Condition` as a list-map keyed by `type`
            // (`+listType=map`); schemars has no way to say so. `type` is required in the
            // item schema, as a map key must be.
            if name == "conditions" && is_condition_list(child) {
                child.x_kubernetes_list_type = Some("map".to_owned());
                child.x_kubernetes_list_map_keys = Some(vec!["type".to_owned()]);
                if let Some(JSONSchemaPropsOrArray::Schema(item)) = child.items.as_mut() {
                    condition_checks(item);
                }
            }
            fix_schema(child);
        }
    }
    match s.items.as_mut() {
        Some(JSONSchemaPropsOrArray::Schema(item)) => fix_schema(item),
        Some(JSONSchemaPropsOrArray::Schemas(items)) => items.iter_mut().for_each(fix_schema),
        None => {}
    }
    // A map of free-form JSON values (Agent `chatTemplateKwargs`) comes out as
    // `additionalProperties: true`, which a structural schema forbids; upstream says what it
    // means: each value is kept as it is.
    if matches!(
        s.additional_properties,
        Some(JSONSchemaPropsOrBool::Bool(true))
    ) {
        s.additional_properties = Some(JSONSchemaPropsOrBool::Schema(Box::new(JSONSchemaProps {
            x_kubernetes_preserve_unknown_fields: Some(true),
            ..Default::default()
        })));
    }
    if let Some(JSONSchemaPropsOrBool::Schema(value)) = s.additional_properties.as_mut() {
        fix_schema(value);
    }
}

/// The validation `metav1.Condition` carries in every upstream CRD (kubebuilder markers on the
/// Go type, so controller-gen emits them; k8s-openapi's schema has none): the status enum,
/// the reason and type patterns and lengths, the message length, a non-negative generation.
fn condition_checks(item: &mut JSONSchemaProps) {
    let Some(props) = item.properties.as_mut() else {
        return;
    };
    if let Some(status) = props.get_mut("status") {
        status.enum_ = Some(
            ["True", "False", "Unknown"]
                .map(|v| JSON(v.into()))
                .to_vec(),
        );
    }
    if let Some(reason) = props.get_mut("reason") {
        reason.pattern = Some(CONDITION_REASON.to_owned());
        reason.min_length = Some(1);
        reason.max_length = Some(1024);
    }
    if let Some(ty) = props.get_mut("type") {
        ty.pattern = Some(CONDITION_TYPE.to_owned());
        ty.max_length = Some(316);
    }
    if let Some(message) = props.get_mut("message") {
        message.max_length = Some(CONDITION_MESSAGE_MAX as i64);
    }
    if let Some(generation) = props.get_mut("observedGeneration") {
        generation.minimum = Some(0.0);
    }
}

/// An array of `metav1.Condition`: items require `type`, `status` and `lastTransitionTime`.
fn is_condition_list(s: &JSONSchemaProps) -> bool {
    let Some(JSONSchemaPropsOrArray::Schema(item)) = s.items.as_ref() else {
        return false;
    };
    let required = item.required.as_deref().unwrap_or_default();
    ["type", "status", "lastTransitionTime"]
        .iter()
        .all(|k| required.iter().any(|r| r == k))
}
