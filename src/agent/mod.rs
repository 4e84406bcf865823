//! The native agent loop (spec §2.2) and its transcript.
//!
//! Flow: `prompt` builds the opening messages → `run_loop` alternates chat turns
//! (`oai::Client`) and tool dispatch (`tools::Registry`) until `submit_result`, the turn cap,
//! the time budget, or a second text-only reply → every step is reported as a [`LoopEvent`]
//! to one sink (stderr printer, JSONL journal, console channel).

pub mod context;
pub mod events;
pub mod notes;
pub mod progress;
pub mod prompt;
pub mod run;
pub mod transcript;

pub use events::{LoopEvent, TurnStats};
pub use notes::Inbox;
pub use run::{LoopConfig, LoopEnd, LoopError, LoopOutcome, Resume, run_loop, run_loop_from};
