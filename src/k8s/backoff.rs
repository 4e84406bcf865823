//! Reconnect pacing for kube-rs watchers.

use kube::runtime::utils::Backoff;
use std::time::Duration;

/// Retry delays for every watch here (console, agent, scheduler): 250 ms doubling to 5 s (with
/// up to 25% jitter), back to the start after any success. kube's default tops out at 30 s:
/// long to stare at a stale screen, and a node or scheduler that long blind after an
/// apiserver restart misses new tasks.
pub struct WatchBackoff {
    next: Duration,
}

impl WatchBackoff {
    const MIN: Duration = Duration::from_millis(250);
    const MAX: Duration = Duration::from_secs(5);
    pub fn new() -> WatchBackoff {
        WatchBackoff { next: Self::MIN }
    }
}

impl Default for WatchBackoff {
    fn default() -> Self {
        Self::new()
    }
}

impl Iterator for WatchBackoff {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        let d = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        let jitter = d.mul_f64(fastrand::f64() * 0.25);
        Some(d + jitter)
    }
}

impl Backoff for WatchBackoff {
    fn reset(&mut self) {
        self.next = Self::MIN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap_and_resets() {
        let mut b = WatchBackoff::new();
        let d: Vec<Duration> = (0..8).map(|_| b.next().unwrap()).collect();
        assert!(d[0] >= Duration::from_millis(250) && d[0] <= Duration::from_millis(313));
        assert!(d[7] >= Duration::from_secs(5) && d[7] <= Duration::from_millis(6250));
        b.reset();
        assert!(b.next().unwrap() < Duration::from_millis(320));
    }
}
