//! A node's recent prompt-cache hits (llama.cpp `timings.cache_n` / `prompt_n`), for the
//! fleet pane: the share of the prompt the server did not have to process again, over the
//! last few turns the runs on that node took.

use crate::oai::Timings;
use std::collections::VecDeque;

/// Turns the figure covers.
const RECENT: usize = 16;

/// The last [`RECENT`] turns' (cached, total) prompt tokens.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CacheHits {
    turns: VecDeque<(f64, f64)>,
}

impl CacheHits {
    /// Adds a turn; a server that reports no `cache_n` adds nothing.
    pub fn record(&mut self, t: &Timings) {
        let Some(cached) = t.cache_n.filter(|c| c.is_finite() && *c >= 0.0) else {
            return;
        };
        let total = cached + t.prompt_n.filter(|p| p.is_finite()).unwrap_or(0.0).max(0.0);
        if total <= 0.0 {
            return;
        }
        if self.turns.len() == RECENT {
            self.turns.pop_front();
        }
        self.turns.push_back((cached, total));
    }

    /// Cached prompt tokens over all prompt tokens of the recent turns, in percent.
    pub fn percent(&self) -> Option<f64> {
        let (c, t) = self
            .turns
            .iter()
            .fold((0.0, 0.0), |(c, t), (a, b)| (c + a, t + b));
        (t > 0.0).then(|| c * 100.0 / t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(cache: Option<f64>, prompt: f64) -> Timings {
        Timings {
            cache_n: cache,
            prompt_n: Some(prompt),
            ..Default::default()
        }
    }

    #[test]
    fn weighs_turns_by_their_prompt_and_forgets_old_ones() {
        let mut h = CacheHits::default();
        assert_eq!(h.percent(), None);
        h.record(&t(None, 50.0));
        assert_eq!(h.percent(), None, "no cache_n: not counted");
        h.record(&t(Some(0.0), 100.0));
        h.record(&t(Some(300.0), 100.0));
        assert_eq!(h.percent(), Some(60.0), "300 of 500 prompt tokens");
        for _ in 0..RECENT {
            h.record(&t(Some(99.0), 1.0));
        }
        assert_eq!(h.percent(), Some(99.0), "the cold first turn aged out");
    }
}
