//! Console settings (filled in by the next commit).
