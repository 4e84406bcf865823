//! The issue picker (`n` in the queue): open issues of a repository read from GitHub REST a
//! page at a time, filtered by labels (on the server) and by words (over what was read), a
//! preview of the selected issue, and Enter creating the task `foreman dispatch` would create
//! for it, through the backend.
//!
//! Pure state and `draw(&self)` as elsewhere in the console: [`state::Picker`] returns
//! [`state::FetchRequest`]s, the event loop runs [`fetch::run`] in a task and sends the
//! [`state::Loaded`] answer back on its job channel, so the UI never waits on the network.

mod draw;
pub mod fetch;
mod keys;
pub mod state;

#[cfg(test)]
mod tests;

pub use keys::Intake;
pub use state::{FetchRequest, Loaded, Picker};
