//! What the loop reports while it runs. Consumers only read these; they never steer the loop.

use crate::oai::{Message, StreamEvent, Timings, Usage};

#[derive(Clone, Debug, PartialEq)]
pub enum LoopEvent {
    /// A chat turn is about to be sent.
    TurnStarted { turn: u32, max_turns: u32 },
    /// Streaming delta or retry notice from the client.
    Stream { turn: u32, event: StreamEvent },
    /// A message was appended to the conversation.
    Message { turn: u32, message: Message },
    /// A chat turn finished (accounting).
    TurnFinished {
        turn: u32,
        elapsed_ms: u64,
        attempts: u32,
        usage: Option<Usage>,
        timings: Option<Timings>,
    },
}
