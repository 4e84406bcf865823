//! Opens the write connections before the first pass needs them. A fresh client has none:
//! the first pass's `concurrency` status writes would each wait out a TCP + TLS handshake
//! while the apiserver is busy answering the others (cold start measured 0.54-0.56 of the
//! apiserver's patch ceiling, issue 16 §4). Issued alongside the preflight, `n` cheap
//! concurrent `GET /version`s make the client's pool open `n` connections that stay idle
//! for the writes; they are kube's own pool's, so nothing here outlives the client.

use futures_util::{StreamExt, stream};
use kube::Client;
use tracing::debug;

/// Connections for the first pass's writes plus the long-lived watches (tasks, FleetNodes,
/// Agents, Workloads), each of which holds one connection of its own.
pub(super) fn connections(concurrency: usize) -> usize {
    concurrency.max(1) + 4
}

/// `n` requests at once, so the pool (which opens a connection only when none is idle)
/// ends with `n` idle ones. Failures are ignored: the preflight reports what is wrong.
pub async fn warm(client: &Client, n: usize) {
    let ok = stream::iter(0..n)
        .map(|_| client.apiserver_version())
        .buffer_unordered(n.max(1))
        .filter(|r| std::future::ready(r.is_ok()))
        .count()
        .await;
    debug!("warmed {ok} of {n} connections");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A keep-alive HTTP/1.1 server answering every request with a version, counting the
    /// connections it accepts; each answer waits a little so concurrent requests overlap.
    async fn server() -> (String, Arc<AtomicUsize>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    let body = r#"{"major":"1","minor":"20","gitVersion":"v1.20.2","gitCommit":"","gitTreeState":"","buildDate":"","goVersion":"","compiler":"","platform":""}"#;
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if s.write_all(resp.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        (url, accepted)
    }

    #[tokio::test]
    async fn warm_connections_serve_the_next_burst() {
        let (url, accepted) = server().await;
        let client = Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
        warm(&client, 8).await;
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            8,
            "one connection per request"
        );
        // A burst of 8 (the first pass's writes) finds them idle: no new handshake.
        let burst = stream::iter(0..8)
            .map(|_| client.apiserver_version())
            .buffer_unordered(8)
            .filter(|r| std::future::ready(r.is_ok()))
            .count()
            .await;
        assert_eq!(burst, 8);
        assert_eq!(accepted.load(Ordering::SeqCst), 8, "the burst reused them");
    }
}
