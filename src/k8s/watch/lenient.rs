//! A watched object that never fails to decode. kube's watcher decodes a whole list page at
//! once, so one object our types cannot read (a newer field shape, a hand-edited status)
//! would fail every list and stall the console; wrapped, it arrives as [`Lenient::Bad`] with
//! its metadata and the reason, is reported once and left out.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;

#[derive(Clone, Debug)]
pub enum Lenient<K> {
    Ok(K),
    Bad {
        meta: Box<ObjectMeta>,
        error: String,
    },
}

impl<'de, K: DeserializeOwned> Deserialize<'de> for Lenient<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        if let Ok(k) = K::deserialize(&v) {
            return Ok(Lenient::Ok(k));
        }
        // Again with path tracking, only to say which field.
        match serde_path_to_error::deserialize::<_, K>(&v) {
            Ok(k) => Ok(Lenient::Ok(k)),
            Err(e) => {
                let meta = v
                    .get("metadata")
                    .and_then(|m| ObjectMeta::deserialize(m).ok())
                    .unwrap_or_default();
                let meta = Box::new(meta);
                let path = e.path().to_string();
                let error = if path.is_empty() || path == "." {
                    e.inner().to_string()
                } else {
                    format!("{path}: {}", e.inner())
                };
                Ok(Lenient::Bad { meta, error })
            }
        }
    }
}

impl<K: Resource<DynamicType = ()>> Resource for Lenient<K> {
    type DynamicType = ();
    type Scope = K::Scope;

    fn kind(dt: &()) -> Cow<'_, str> {
        K::kind(dt)
    }
    fn group(dt: &()) -> Cow<'_, str> {
        K::group(dt)
    }
    fn version(dt: &()) -> Cow<'_, str> {
        K::version(dt)
    }
    fn plural(dt: &()) -> Cow<'_, str> {
        K::plural(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        match self {
            Lenient::Ok(k) => k.meta(),
            Lenient::Bad { meta, .. } => meta,
        }
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Lenient::Ok(k) => k.meta_mut(),
            Lenient::Bad { meta, .. } => meta,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::AgenticTask;

    #[test]
    fn a_bad_object_keeps_its_name_and_says_which_field() {
        let good = r#"{"apiVersion":"foreman.llmkube.dev/v1alpha1","kind":"AgenticTask",
            "metadata":{"name":"a","namespace":"ns"},"spec":{"kind":"freeform","payload":{"prompt":"x"}}}"#;
        let Lenient::Ok(t) = serde_json::from_str::<Lenient<AgenticTask>>(good).unwrap() else {
            panic!("good object not decoded")
        };
        assert_eq!(t.metadata.name.as_deref(), Some("a"));
        let bad = good.replace("freeform", "dance");
        let l = serde_json::from_str::<Lenient<AgenticTask>>(&bad).unwrap();
        let Lenient::Bad { meta, error } = &l else {
            panic!("bad object decoded")
        };
        assert_eq!(meta.name.as_deref(), Some("a"));
        assert!(error.contains("spec.kind"), "{error}");
        assert_eq!(l.meta().namespace.as_deref(), Some("ns"));
    }
}
