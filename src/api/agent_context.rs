//! Upstream HEAD's Agent fields for how the loop keeps its context in bounds: the context
//! strategy with observation masking (#558/#563/#756) and stuck-loop detection (#544/#569).
//! Accepted and stored with upstream's bounds; honouring them is the loop's business.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How each request's message list is built (default `window`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContextStrategy {
    /// Observation masking bounded by `observationWindowTurns`.
    #[default]
    Window,
    /// An append-only prefix a caching runtime reuses, compacted only near
    /// `contextWindowTokens`.
    Session,
}

/// The stuck-loop detector's thresholds; 0 disables one signal, all 0 the detector.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StuckLoopDetection {
    /// Identical (tool, arguments) calls in a row that count as a loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub repeated_tool_threshold: Option<i32>,
    /// Consecutive turns without `write_file`, `str_replace` or `submit_result`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 200))]
    pub edit_free_turns_limit: Option<i32>,
    /// Approximate tokens at which the model is nudged to finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub context_soft_cap: Option<i32>,
    /// Approximate tokens at which the run stops without a nudge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub context_hard_cap: Option<i32>,
}
