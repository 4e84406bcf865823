//! `foreman crds`: the four CRD manifests as YAML on stdout, for `kubectl apply -f -`.

use super::common::{Exit, failed};

pub fn crds() -> Exit {
    match crate::k8s::crds_yaml() {
        Ok(yaml) => {
            out!("{yaml}");
            Exit::Ok
        }
        Err(e) => failed(e.to_string()),
    }
}
