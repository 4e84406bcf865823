//! One loaded manifest of any of the four kinds, as the loader returns it and the backends
//! store it.

use super::yaml;
use super::{Agent, AgenticTask, FleetNode, Workload};

/// One loaded manifest.
#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    Agent(Box<Agent>),
    Task(Box<AgenticTask>),
    FleetNode(Box<FleetNode>),
    Workload(Box<Workload>),
}

impl Object {
    pub fn kind(&self) -> &'static str {
        match self {
            Object::Agent(_) => "Agent",
            Object::Task(_) => "AgenticTask",
            Object::FleetNode(_) => "FleetNode",
            Object::Workload(_) => "Workload",
        }
    }
    pub fn name(&self) -> &str {
        let meta = match self {
            Object::Agent(o) => &o.metadata,
            Object::Task(o) => &o.metadata,
            Object::FleetNode(o) => &o.metadata,
            Object::Workload(o) => &o.metadata,
        };
        meta.name.as_deref().unwrap_or("")
    }
    /// YAML of the object (for round-trips and `foreman submit`).
    pub fn to_yaml(&self) -> Result<String, yaml::SerializeError> {
        match self {
            Object::Agent(o) => yaml::to_string(o),
            Object::Task(o) => yaml::to_string(o),
            Object::FleetNode(o) => yaml::to_string(o),
            Object::Workload(o) => yaml::to_string(o),
        }
    }
}
