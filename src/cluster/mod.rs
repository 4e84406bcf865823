//! Kubernetes side of Foreman: the CRD manifests generated from the `api` types, so a cluster
//! can store the same objects the console runs locally.

pub mod crds;

pub use crds::{CrdsError, crds, crds_yaml};
