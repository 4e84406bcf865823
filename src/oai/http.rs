//! The process's HTTP clients for inference servers, built once per connect timeout and
//! shared. Building a `reqwest::Client` sets up TLS (native-tls: OpenSSL parses the system's
//! whole CA bundle), which every run paid at its start and the node probe at every probe; a
//! `reqwest::Client` is a handle, so sharing one is a clone. No idle connection is pooled
//! (llama.cpp closes a connection after a streamed reply, see `client.rs`), so no connection
//! outlives the request, or the runtime, that opened it. A client for a plain-http server
//! (llama.cpp on this machine or the LAN, the usual case) leaves the CA bundle unread: a
//! console start probes its node's server, and parsing ~150 certificates it never uses cost
//! that start time and a few MB of memory it kept.

use std::sync::Mutex;
use std::time::Duration;

/// What a client is built for: its connect timeout, and whether it verifies TLS servers
/// against the system's roots.
type Kind = (Duration, bool);

/// The clients built so far (a handful at most: one per Agent setting).
static CLIENTS: Mutex<Vec<(Kind, reqwest::Client)>> = Mutex::new(Vec::new());

/// Whether requests to `url` need the system's CA roots (an https server). A plain-http
/// server that redirected to https would fail to verify: llama.cpp never redirects.
pub fn needs_roots(url: &str) -> bool {
    url.trim_start()
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

/// The shared client for `url`'s server whose connects give up after `connect_timeout`.
pub fn client(connect_timeout: Duration, url: &str) -> Result<reqwest::Client, reqwest::Error> {
    let kind = (connect_timeout, needs_roots(url));
    let mut built = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, c)) = built.iter().find(|(k, _)| *k == kind) {
        return Ok(c.clone());
    }
    let mut b = reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .pool_max_idle_per_host(0);
    if !kind.1 {
        // No roots at all: an https request on this client (a redirect) fails to verify.
        b = b.tls_certs_only([]);
    }
    let c = b.build()?;
    built.push((kind, c.clone()));
    Ok(c)
}

#[cfg(test)]
fn built_for(connect_timeout: Duration) -> usize {
    let built = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    built
        .iter()
        .filter(|((t, _), _)| *t == connect_timeout)
        .count()
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
            client(a, "http://127.0.0.1:8080/v1").unwrap();
        }
        assert_eq!(built_for(a), 1, "built once, then shared");
        assert_eq!(built_for(b), 0);
        client(b, "http://127.0.0.1:8080/v1").unwrap();
        assert_eq!(built_for(b), 1, "another timeout gets its own");
        assert_eq!(built_for(a), 1);
        client(a, "HTTPS://inference.example/v1").unwrap();
        assert_eq!(
            built_for(a),
            2,
            "an https server gets one with the CA roots"
        );
        client(a, "https://other.example/v1").unwrap();
        assert_eq!(built_for(a), 2);
    }

    #[test]
    fn only_an_https_url_needs_the_ca_roots() {
        for (url, want) in [
            ("https://gpu.example:8443/v1", true),
            (" HTTPS://gpu.example/v1", true),
            ("http://127.0.0.1:8080/v1", false),
            ("http://https.example/v1", false),
            ("", false),
            ("https:/", false),
        ] {
            assert_eq!(needs_roots(url), want, "{url:?}");
        }
    }
}
