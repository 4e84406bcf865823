//! Reading what is left of a response body: an error's first bytes, and the rest of a
//! finished stream (so the server sees a clean close).

use super::aggregate::ERROR_BODY_MAX;
use super::error::truncate_utf8;
use std::time::Duration;
use tokio::time::{Instant, timeout_at};

/// After `[DONE]`, read the rest of the body briefly so the server sees a clean close.
const DRAIN_TIME: Duration = Duration::from_millis(100);
const DRAIN_BYTES: usize = 64 * 1024;

/// The first 4 KiB of an error body, read within `limit`.
pub(super) async fn read_prefix(resp: &mut reqwest::Response, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    let mut buf = Vec::new();
    while buf.len() < ERROR_BODY_MAX {
        match timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(b))) => buf.extend_from_slice(&b),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&buf);
    truncate_utf8(text.trim(), ERROR_BODY_MAX).to_string()
}

pub(super) async fn drain(resp: &mut reqwest::Response) {
    let deadline = Instant::now() + DRAIN_TIME;
    let mut n = 0;
    while n < DRAIN_BYTES {
        match timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(b))) => n += b.len(),
            _ => break,
        }
    }
}
