//! UI colour themes (filled in by the next commit).
