//! The console's frame cap: a dirty screen is drawn at most once per [`FRAME`] (60 FPS), so a
//! burst of streamed tokens costs one frame, not one per token. The event loop and the render
//! bench (token-to-screen through a real terminal backend) share this one rule.

use std::time::{Duration, Instant};

/// Minimum time between two frames.
pub const FRAME: Duration = Duration::from_millis(16);

/// When the next frame may be drawn.
#[derive(Clone, Copy, Debug)]
pub struct Pacer {
    last: Instant,
}

impl Pacer {
    /// A pacer whose first frame is due at once.
    pub fn new(now: Instant) -> Pacer {
        let mut p = Pacer { last: now };
        p.hurry(now);
        p
    }

    /// Whether a dirty screen may be drawn at `now`.
    pub fn due(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last) >= FRAME
    }

    /// How long a dirty screen still waits at `now` (zero when due).
    pub fn wait(&self, now: Instant) -> Duration {
        FRAME.saturating_sub(now.saturating_duration_since(self.last))
    }

    /// Makes the next frame due at once: the fleet's first picture (the backend's Snapshot)
    /// is not held back by the empty frame drawn while it loaded.
    pub fn hurry(&mut self, now: Instant) {
        self.last = now.checked_sub(FRAME).unwrap_or(now);
    }

    /// A frame was drawn at `now`.
    pub fn drawn(&mut self, now: Instant) {
        self.last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_frame_per_period_and_the_wait_says_until_when() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0);
        assert!(p.due(t0), "the first frame is due at once");
        p.drawn(t0);
        let soon = t0 + Duration::from_millis(5);
        assert!(!p.due(soon));
        assert_eq!(p.wait(soon), Duration::from_millis(11));
        let later = t0 + FRAME;
        assert!(p.due(later));
        assert_eq!(p.wait(later), Duration::ZERO);
    }

    #[test]
    fn a_hurried_frame_is_due_at_once_and_the_cap_holds_after_it() {
        let t0 = Instant::now() + FRAME;
        let mut p = Pacer::new(t0);
        p.drawn(t0);
        let soon = t0 + Duration::from_millis(2);
        assert!(!p.due(soon));
        p.hurry(soon);
        assert!(p.due(soon));
        assert_eq!(p.wait(soon), Duration::ZERO);
        p.drawn(soon);
        assert!(!p.due(soon + Duration::from_millis(1)));
    }
}
