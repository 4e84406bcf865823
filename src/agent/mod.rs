//! The native agent loop and its transcript.
