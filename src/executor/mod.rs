//! One AgenticTask end to end: workspace, loop, commit, Result envelope.
