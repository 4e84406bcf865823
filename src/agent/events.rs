//! What the loop reports while it runs. Consumers only read these; they never steer the loop.

use crate::oai::{Message, StreamEvent, Timings, Usage};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq)]
pub enum LoopEvent {
    /// A chat turn is about to be sent.
    TurnStarted { turn: u32, max_turns: u32 },
    /// Streaming delta or retry notice from the client.
    Stream { turn: u32, event: StreamEvent },
    /// A message was appended to the conversation.
    Message { turn: u32, message: Message },
    /// A chat turn finished (accounting).
    TurnFinished(TurnStats),
}

/// The accounting of one finished chat turn, in one shape for everyone: the loop reports it,
/// the journal stores it as its `turn` record (these field names are that line's JSON), the
/// console's turn footer and the headless printer show it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TurnStats {
    pub turn: u32,
    /// Wall time of the chat request, retries included.
    pub elapsed_ms: u64,
    /// 1 + retries taken.
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// llama.cpp's timings (absent on other servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timings: Option<Timings>,
}
