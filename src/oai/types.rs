//! OpenAI chat-completions wire types, as llama.cpp's `/v1/chat/completions` speaks them.
//! These are also the transcript's message format (upstream `oai.Message`).

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Message {
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A hybrid-thinking model's reasoning (llama.cpp `reasoning_content`): kept in the
    /// journal and shown in the transcript, never sent back (upstream HEAD #650).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
}

impl Message {
    fn new(role: Role, content: impl Into<String>) -> Self {
        Message {
            role,
            content: Some(content.into()),
            tool_calls: None,
            tool_call_id: None,
            name: None,
            reasoning_content: None,
        }
    }
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content)
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }
    /// A tool result. `content` is always present, even when empty (upstream PR #562).
    pub fn tool(
        call_id: impl Into<String>,
        name: impl Into<String>,
        content: impl Into<String>,
    ) -> Self {
        Message {
            role: Role::Tool,
            content: Some(content.into()),
            tool_calls: None,
            tool_call_id: Some(call_id.into()),
            name: Some(name.into()),
            reasoning_content: None,
        }
    }
    pub fn tool_calls(&self) -> &[ToolCall] {
        self.tool_calls.as_deref().unwrap_or(&[])
    }
    pub fn text(&self) -> &str {
        self.content.as_deref().unwrap_or("")
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ToolCall {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    pub function: FunctionCall,
}

fn function_type() -> String {
    "function".into()
}

impl ToolCall {
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        ToolCall {
            id: id.into(),
            kind: function_type(),
            function: FunctionCall {
                name: name.into(),
                arguments: arguments.into(),
            },
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FunctionCall {
    #[serde(default)]
    pub name: String,
    /// A JSON document as a string (OpenAI convention).
    #[serde(default)]
    pub arguments: String,
}

/// A tool advertised to the model.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ToolSpec {
    #[serde(rename = "type")]
    pub kind: String,
    pub function: FunctionDef,
}

impl ToolSpec {
    pub fn function(name: &str, description: &str, parameters: serde_json::Value) -> Self {
        ToolSpec {
            kind: function_type(),
            function: FunctionDef {
                name: name.into(),
                description: description.into(),
                parameters,
            },
        }
    }
    pub fn name(&self) -> &str {
        &self.function.name
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FunctionDef {
    pub name: String,
    pub description: String,
    pub parameters: serde_json::Value,
}

/// Token accounting as reported by the server.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
}

/// llama.cpp's per-request `timings` object (absent on other servers).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq)]
pub struct Timings {
    /// Prompt tokens the server took from its cache (its slot's previous context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_n: Option<f64>,
    /// Prompt tokens the server processed (not from its cache).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_n: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_per_second: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_n: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_per_second: Option<f64>,
}

impl Timings {
    /// The share of the prompt served from the server's cache (0.0–1.0): `cache_n` over
    /// `cache_n + prompt_n`; None when the server did not say (not llama.cpp, or no prompt).
    pub fn cache_hit(&self) -> Option<f64> {
        let cached = self.cache_n?;
        let total = cached + self.prompt_n.unwrap_or(0.0);
        (total > 0.0 && cached.is_finite() && total.is_finite()).then(|| cached / total)
    }
}

/// What streams out of one chat turn, for live display.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent {
    /// Assistant text as it arrives.
    Content(String),
    /// A fragment of tool call number `index`; `name`/`id` arrive once (or repeatedly on some servers).
    ToolCall {
        index: usize,
        id: Option<String>,
        name: Option<String>,
        arguments: String,
    },
    /// The attempt failed and is being retried with a corrective nudge.
    Retry { attempt: u32, reason: String },
    /// llama.cpp's prompt processing so far (`return_progress`): `processed` of `total` prompt
    /// tokens, before the first token of the reply.
    PromptProgress { processed: u64, total: u64 },
}

/// One finished turn.
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    /// The aggregated assistant message (role forced to assistant). Tool-call arguments are as
    /// the server sent them and may still be invalid JSON after retries; the loop repairs that.
    pub message: Message,
    pub finish_reason: Option<String>,
    pub usage: Option<Usage>,
    pub timings: Option<Timings>,
    /// 1 + retries taken.
    pub attempts: u32,
}

#[cfg(test)]
mod tests {
    use super::Timings;

    #[test]
    fn cache_hit_is_cached_over_the_whole_prompt() {
        let t: Timings = serde_json::from_str(r#"{"cache_n":190,"prompt_n":10}"#).unwrap();
        assert_eq!(t.cache_hit(), Some(0.95));
        let none: Timings = serde_json::from_str(r#"{"prompt_n":10}"#).unwrap();
        assert_eq!(none.cache_hit(), None, "a server that does not say");
        let empty: Timings = serde_json::from_str(r#"{"cache_n":0,"prompt_n":0}"#).unwrap();
        assert_eq!(empty.cache_hit(), None);
    }
}
