//! The six workspace-bound tools.
