//! Terminal UI components of the operator console. The app owns the event loop and layout;
//! components here own their state and draw into a ratatui `Buffer`.

pub mod diff;
pub mod transcript;
