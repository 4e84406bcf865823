//! Kubernetes side of Foreman: the CRD manifests generated from the `api` types, and the
//! kube-rs pieces that let the console and `foreman agent`/`foreman scheduler` interoperate
//! with LLMKube's operator and kubectl.

pub mod backoff;
pub mod connect;
pub mod crds;
pub mod lease;
pub mod scheduler;
pub mod watch;
pub mod worker;

pub use connect::{Cluster, ClusterArgs, ConnectError, connect};
pub use crds::{CrdsError, crds, crds_yaml};
