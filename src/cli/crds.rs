//! `foreman crds`: the four CRD manifests as YAML on stdout, for `kubectl apply -f -`.

use super::common::{Exit, failed};
use std::io::Write;

pub fn crds() -> Exit {
    let written = crate::k8s::crds_yaml()
        .map_err(|e| e.to_string())
        .and_then(|yaml| {
            std::io::stdout()
                .write_all(yaml.as_bytes())
                .map_err(|e| format!("cannot write to stdout: {e}"))
        });
    match written {
        Ok(()) => Exit::Ok,
        Err(e) => failed(e),
    }
}
