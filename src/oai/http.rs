//! The process's HTTP clients for inference servers, built once per connect timeout and
//! shared. Building a `reqwest::Client` sets up TLS (native-tls: OpenSSL parses the system's
//! whole CA bundle), which every run paid at its start and the node probe at every probe; a
//! `reqwest::Client` is a handle, so sharing one is a clone. No idle connection is pooled
//! (llama.cpp closes a connection after a streamed reply, see `client.rs`), so no connection
//! outlives the request, or the runtime, that opened it.

use std::sync::Mutex;
use std::time::Duration;

/// The clients built so far, by connect timeout (a handful at most: one per Agent setting).
static CLIENTS: Mutex<Vec<(Duration, reqwest::Client)>> = Mutex::new(Vec::new());

/// The shared client whose connects give up after `connect_timeout`.
pub fn client(connect_timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    let mut built = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, c)) = built.iter().find(|(t, _)| *t == connect_timeout) {
        return Ok(c.clone());
    }
    let c = reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .pool_max_idle_per_host(0)
        .build()?;
    built.push((connect_timeout, c.clone()));
    Ok(c)
}

#[cfg(test)]
fn built_for(connect_timeout: Duration) -> usize {
    let built = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    built.iter().filter(|(t, _)| *t == connect_timeout).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_client_per_connect_timeout_is_built_and_then_shared() {
        // Timeouts no other test uses, so parallel tests do not disturb the counts.
        let (a, b) = (Duration::from_millis(4321), Duration::from_millis(4322));
        assert_eq!(built_for(a), 0);
        for _ in 0..3 {
            client(a).unwrap();
        }
        assert_eq!(built_for(a), 1, "built once, then shared");
        assert_eq!(built_for(b), 0);
        client(b).unwrap();
        assert_eq!(built_for(b), 1, "another timeout gets its own");
        assert_eq!(built_for(a), 1);
    }
}
