//! The REST plumbing: one `reqwest` client, GitHub's headers, and the mapping from HTTP
//! statuses to errors that tell the operator what to do next.

use std::fmt;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, USER_AGENT};
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};

/// Where the API lives and who we are. `Debug` never shows the token.
#[derive(Clone)]
pub struct GitHubConfig {
    /// `https://api.github.com`, a GHE `https://HOST/api/v3`, or a test server.
    pub api_base: String,
    /// A token with `repo` / `public_repo` scope (or fine-grained "pull requests: write").
    pub token: String,
}

impl fmt::Debug for GitHubConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubConfig")
            .field("api_base", &self.api_base)
            .field("token", &"***")
            .finish()
    }
}

/// What to open: `head` is `branch` (same repo) or `fork_owner:branch` (cross-fork, as in the
/// runbook's `Defilan:foreman/issue-N`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrRequest {
    pub owner: String,
    pub repo: String,
    pub title: String,
    pub head: String,
    pub base: String,
    pub body: String,
    pub draft: bool,
}

impl PrRequest {
    /// The JSON body of `POST /repos/{owner}/{repo}/pulls`, exactly as `ensure_pr` sends it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "title": self.title,
            "head": self.head,
            "base": self.base,
            "body": self.body,
            "draft": self.draft,
        })
    }
}

/// The PR as the console shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    pub number: u64,
    pub html_url: String,
    pub state: String,
    pub head_ref: String,
    pub base_ref: String,
    /// `false` when an already-open PR for the same head was found instead.
    pub created: bool,
}

/// A status and JSON body, for callers (and the contract test) that need the raw answer.
#[derive(Clone, Debug)]
pub struct RawResponse {
    pub status: u16,
    pub body: serde_json::Value,
}

/// Everything that can go wrong, each saying what to do. Never contains the token.
#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    #[error(
        "the GitHub API at {api_base} rejected the token (HTTP 401): check GITHUB_TOKEN (or \
         ~/.config/foreman/github-token) is current and has the repo / public_repo scope"
    )]
    Unauthorized { api_base: String },
    #[error(
        "the GitHub API refused access to {owner}/{repo} (HTTP 403: {message}): the token may \
         lack the scope to open pull requests, need SSO authorisation, or be rate limited"
    )]
    Forbidden {
        owner: String,
        repo: String,
        message: String,
    },
    #[error(
        "repository {owner}/{repo} not found at {api_base} (HTTP 404): check the owner/repo \
         (git.remote_url) and that the token can see this repository"
    )]
    NotFound {
        owner: String,
        repo: String,
        api_base: String,
    },
    #[error(
        "GitHub refused the pull request for {head} -> {base} (HTTP {status}): {}; check the \
         branch was pushed and the base branch exists",
        messages.join("; ")
    )]
    Validation {
        status: u16,
        head: String,
        base: String,
        messages: Vec<String>,
    },
    #[error(
        "GitHub says a pull request for {head} already exists, but it was not among the open \
         pull requests of {owner}/{repo}; look for it on the web and retry"
    )]
    ExistingNotFound {
        owner: String,
        repo: String,
        head: String,
    },
    #[error("unexpected answer from the GitHub API (HTTP {status}): {message}")]
    Unexpected { status: u16, message: String },
    #[error(
        "could not reach the GitHub API at {api_base}: {detail}; is the API base URL right \
         (github.api_base, e.g. https://api.github.com or https://HOST/api/v3)?"
    )]
    Transport { api_base: String, detail: String },
    #[error(
        "invalid GitHub API base URL {api_base:?}: {detail}; set github.api_base to e.g. \
         https://api.github.com"
    )]
    BadApiBase { api_base: String, detail: String },
    #[error(
        "the GitHub token contains characters not allowed in an HTTP header; re-create \
         GITHUB_TOKEN without spaces or line breaks"
    )]
    BadToken,
    #[error(
        "issue #{number} of {owner}/{repo} not found at {api_base} (HTTP {status}): check the \
         number, and that it is an issue (not a pull request) the token can see"
    )]
    IssueNotFound {
        owner: String,
        repo: String,
        number: u64,
        status: u16,
        api_base: String,
    },
    #[error("GitHub refused the issue query on {owner}/{repo} (HTTP 422): {}; check the labels and the page", messages.join("; "))]
    BadIssueQuery {
        owner: String,
        repo: String,
        messages: Vec<String>,
    },
    #[error("cannot open a pull request: {what} is empty")]
    IncompleteRequest { what: &'static str },
    #[error("the GitHub API at {api_base} sent a response we could not read: {detail}")]
    BadResponse { api_base: String, detail: String },
}

/// How many PRs to page through when the server ignores the `head` filter.
const LIST_PAGES: u32 = 5;
const PER_PAGE: u32 = 100;

/// A GitHub REST client bound to one API base and token.
#[derive(Clone, Debug)]
pub struct GitHubClient {
    http: reqwest::Client,
    pub(super) cfg: GitHubConfig,
    base: Url,
    extra: Vec<(String, String)>, // with_header's
}

impl GitHubClient {
    /// Validates the base URL and builds the HTTP client (timeouts so a wrong host cannot hang
    /// the console's job forever).
    pub fn new(cfg: GitHubConfig) -> Result<Self, GitHubError> {
        let base = Url::parse(cfg.api_base.trim()).map_err(|e| GitHubError::BadApiBase {
            api_base: cfg.api_base.clone(),
            detail: e.to_string(),
        })?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(GitHubError::BadApiBase {
                api_base: cfg.api_base.clone(),
                detail: "expected an http(s) URL".into(),
            });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| GitHubError::Transport {
                api_base: cfg.api_base.clone(),
                detail: e.to_string(),
            })?;
        Ok(Self {
            http,
            cfg,
            base,
            extra: Vec::new(),
        })
    }

    /// One more header on every request (a proxy's, Prism's `Prefer`); never the token.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.extra.push((name.to_string(), value.to_string()));
        self
    }

    pub(super) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    fn headers(&self) -> Result<HeaderMap, GitHubError> {
        let mut h = HeaderMap::new();
        // No token: anonymous (public issues can be read without one).
        if !self.cfg.token.trim().is_empty() {
            let mut auth = HeaderValue::from_str(&format!("Bearer {}", self.cfg.token.trim()))
                .map_err(|_| GitHubError::BadToken)?;
            auth.set_sensitive(true);
            h.insert(AUTHORIZATION, auth);
        }
        // Prism (GitHub's own OpenAPI description) only lists application/json; real GitHub
        // accepts it too, so one value works for both.
        h.insert(ACCEPT, HeaderValue::from_static("application/json"));
        h.insert(
            "X-GitHub-Api-Version",
            HeaderValue::from_static("2022-11-28"),
        );
        h.insert(USER_AGENT, HeaderValue::from_static("foreman-console"));
        Ok(h)
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<RawResponse, GitHubError> {
        Ok(self.send_linked(method, url, body).await?.0)
    }

    /// As `send`, with the response's `Link` header (GitHub's paging) when it has one.
    pub(super) async fn send_linked(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<(RawResponse, Option<String>), GitHubError> {
        let mut rb = self.http.request(method.clone(), url.clone());
        rb = rb.headers(self.headers()?);
        for (k, v) in &self.extra {
            rb = rb.header(k.as_str(), v.as_str());
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let resp = rb.send().await.map_err(|e| self.transport(e))?;
        let status = resp.status().as_u16();
        let link = resp
            .headers()
            .get(reqwest::header::LINK)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        tracing::debug!(%method, path = url.path(), status, "github api");
        let bytes = resp.bytes().await.map_err(|e| self.transport(e))?;
        let body = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
            })
        };
        Ok((RawResponse { status, body }, link))
    }

    fn transport(&self, e: reqwest::Error) -> GitHubError {
        let mut detail = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            detail.push_str(": ");
            detail.push_str(&s.to_string());
            src = s.source();
        }
        GitHubError::Transport {
            api_base: self.cfg.api_base.clone(),
            detail: self.redact(&detail),
        }
    }

    /// Defence in depth: a server (or proxy) echoing the token must not leak it into the UI.
    pub(super) fn redact(&self, text: &str) -> String {
        let t = self.cfg.token.trim();
        if t.is_empty() {
            text.to_string()
        } else {
            text.replace(t, "***")
        }
    }

    /// `POST /repos/{owner}/{repo}/pulls` with any JSON body; no status interpretation.
    pub async fn post_pulls_raw(
        &self,
        owner: &str,
        repo: &str,
        body: &serde_json::Value,
    ) -> Result<RawResponse, GitHubError> {
        let url = self.url(&["repos", owner, repo, "pulls"]);
        self.send(Method::POST, url, Some(body)).await
    }

    /// Creates the PR, or returns the open one that already exists for this head.
    pub async fn ensure_pr(&self, req: &PrRequest) -> Result<PullRequest, GitHubError> {
        for (what, v) in [
            ("owner", &req.owner),
            ("repo", &req.repo),
            ("head branch", &req.head),
            ("base branch", &req.base),
            ("title", &req.title),
        ] {
            if v.trim().is_empty() {
                return Err(GitHubError::IncompleteRequest { what });
            }
        }
        let raw = self
            .post_pulls_raw(&req.owner, &req.repo, &req.to_json())
            .await?;
        match raw.status {
            200 | 201 => {
                let w: WirePull =
                    serde_json::from_value(raw.body).map_err(|e| self.bad_response(e))?;
                Ok(w.into_pull(true))
            }
            409 => self.find_existing(req).await,
            422 if already_exists(&raw.body) => self.find_existing(req).await,
            _ => Err(self.status_error(raw, &req.owner, &req.repo, &req.head, &req.base)),
        }
    }

    async fn find_existing(&self, req: &PrRequest) -> Result<PullRequest, GitHubError> {
        let (head_owner, branch) = match req.head.split_once(':') {
            Some((o, b)) => (o.to_string(), b.to_string()),
            None => (req.owner.clone(), req.head.clone()),
        };
        let filter = format!("{head_owner}:{branch}");
        let wanted = |p: &PullRequest, label: Option<&str>| {
            p.head_ref == branch
                && label.is_none_or(|l| !l.contains(':') || l.eq_ignore_ascii_case(&filter))
        };
        // First the filtered query (GitHub honours it), then plain pages for servers that
        // ignore `head` (older GHE, Gitea) — matched by head ref either way.
        for page in 0..=LIST_PAGES {
            let filtered = page == 0;
            let (head, pg) = if filtered {
                (Some(filter.as_str()), 1)
            } else {
                (None, page)
            };
            let list = self
                .list_open_labelled(&req.owner, &req.repo, head, pg)
                .await?;
            let n = list.len();
            let mut hits: Vec<PullRequest> = list
                .into_iter()
                .filter(|(p, label)| wanted(p, label.as_deref()))
                .map(|(p, _)| p)
                .collect();
            // Prefer the PR against the same base, like GitHub's own duplicate rule.
            hits.sort_by_key(|p| p.base_ref != req.base);
            if let Some(p) = hits.into_iter().next() {
                return Ok(p);
            }
            if !filtered && n < PER_PAGE as usize {
                break;
            }
        }
        Err(GitHubError::ExistingNotFound {
            owner: req.owner.clone(),
            repo: req.repo.clone(),
            head: req.head.clone(),
        })
    }

    async fn list_open_labelled(
        &self,
        owner: &str,
        repo: &str,
        head: Option<&str>,
        page: u32,
    ) -> Result<Vec<(PullRequest, Option<String>)>, GitHubError> {
        let mut url = self.url(&["repos", owner, repo, "pulls"]);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("state", "open");
            if let Some(h) = head {
                q.append_pair("head", h);
            }
            q.append_pair("per_page", &PER_PAGE.to_string());
            q.append_pair("page", &page.to_string());
        }
        let raw = self.send(Method::GET, url, None).await?;
        if raw.status != 200 {
            return Err(self.status_error(raw, owner, repo, head.unwrap_or(""), ""));
        }
        let wire: Vec<WirePull> =
            serde_json::from_value(raw.body).map_err(|e| self.bad_response(e))?;
        Ok(wire
            .into_iter()
            .filter(|w| w.state == "open")
            .map(|w| {
                let label = w.head.label.clone();
                (w.into_pull(false), label)
            })
            .collect())
    }

    pub(super) fn bad_response(&self, e: serde_json::Error) -> GitHubError {
        GitHubError::BadResponse {
            api_base: self.cfg.api_base.clone(),
            detail: e.to_string(),
        }
    }

    pub(super) fn status_error(
        &self,
        raw: RawResponse,
        owner: &str,
        repo: &str,
        head: &str,
        base: &str,
    ) -> GitHubError {
        let message = self.redact(&server_message(&raw.body));
        match StatusCode::from_u16(raw.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR) {
            StatusCode::UNAUTHORIZED => GitHubError::Unauthorized {
                api_base: self.cfg.api_base.clone(),
            },
            StatusCode::FORBIDDEN => GitHubError::Forbidden {
                owner: owner.into(),
                repo: repo.into(),
                message,
            },
            StatusCode::NOT_FOUND => GitHubError::NotFound {
                owner: owner.into(),
                repo: repo.into(),
                api_base: self.cfg.api_base.clone(),
            },
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT => GitHubError::Validation {
                status: raw.status,
                head: head.into(),
                base: base.into(),
                messages: validation_messages(&raw.body)
                    .iter()
                    .map(|m| self.redact(m))
                    .collect(),
            },
            _ => GitHubError::Unexpected {
                status: raw.status,
                message,
            },
        }
    }
}

/// Convenience wrapper: one call, one client.
pub async fn ensure_pr(cfg: &GitHubConfig, req: &PrRequest) -> Result<PullRequest, GitHubError> {
    GitHubClient::new(cfg.clone())?.ensure_pr(req).await
}

#[derive(Deserialize)]
struct WireRef {
    #[serde(rename = "ref")]
    git_ref: String,
    #[serde(default)]
    label: Option<String>,
}

#[derive(Deserialize)]
struct WirePull {
    number: u64,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    state: String,
    head: WireRef,
    base: WireRef,
}

impl WirePull {
    fn into_pull(self, created: bool) -> PullRequest {
        PullRequest {
            number: self.number,
            html_url: self.html_url,
            state: self.state,
            head_ref: self.head.git_ref,
            base_ref: self.base.git_ref,
            created,
        }
    }
}

pub(super) fn server_message(body: &serde_json::Value) -> String {
    match body {
        serde_json::Value::Object(o) => o
            .get("message")
            .and_then(|m| m.as_str())
            .unwrap_or("no message")
            .to_string(),
        serde_json::Value::String(s) => s.chars().take(300).collect(),
        _ => "no message".into(),
    }
}

/// GitHub's 422 body: `{"message":"Validation Failed","errors":[{field, code} | {message}]}`.
pub(super) fn validation_messages(body: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(errs) = body.get("errors").and_then(|e| e.as_array()) {
        for e in errs {
            if let Some(m) = e.get("message").and_then(|m| m.as_str()) {
                out.push(m.to_string());
            } else {
                let field = e.get("field").and_then(|f| f.as_str()).unwrap_or("?");
                let code = e.get("code").and_then(|c| c.as_str()).unwrap_or("invalid");
                let hint = match (field, code) {
                    ("head", "invalid") => " (the branch does not exist on the remote: push it)",
                    ("base", "invalid") => " (the base branch does not exist)",
                    _ => "",
                };
                out.push(format!("{field}: {code}{hint}"));
            }
        }
    }
    if out.is_empty() {
        out.push(server_message(body));
    }
    out
}

fn already_exists(body: &serde_json::Value) -> bool {
    validation_messages(body)
        .iter()
        .any(|m| m.contains("already exists"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_token() {
        let cfg = GitHubConfig {
            api_base: "https://api.github.com".into(),
            token: "ghp_supersecret".into(),
        };
        let s = format!("{cfg:?}");
        assert!(s.contains("***") && !s.contains("supersecret"), "{s}");
    }

    #[test]
    fn url_keeps_ghe_prefix() {
        let c = GitHubClient::new(GitHubConfig {
            api_base: "https://ghe.example.com/api/v3/".into(),
            token: "t".into(),
        })
        .unwrap();
        let u = c.url(&["repos", "o", "r", "pulls"]);
        assert_eq!(u.as_str(), "https://ghe.example.com/api/v3/repos/o/r/pulls");
    }

    #[test]
    fn bad_base_is_reported() {
        let e = GitHubClient::new(GitHubConfig {
            api_base: "api.github.com".into(),
            token: "t".into(),
        })
        .unwrap_err();
        assert!(matches!(e, GitHubError::BadApiBase { .. }), "{e}");
    }

    #[test]
    fn validation_messages_explain_missing_branch() {
        let body = serde_json::json!({"message":"Validation Failed",
            "errors":[{"resource":"PullRequest","field":"head","code":"invalid"}]});
        let m = validation_messages(&body);
        assert_eq!(m.len(), 1);
        assert!(
            m[0].contains("head: invalid") && m[0].contains("push it"),
            "{m:?}"
        );
        let dup = serde_json::json!({"message":"Validation Failed","errors":[{"code":"custom",
            "message":"A pull request already exists for acme:foreman/issue-1."}]});
        assert!(already_exists(&dup));
        assert!(!already_exists(&body));
    }
}
