//! GitHub token lookup, fail-fast credential callbacks, and redaction helpers.
//!
//! The token is handed to libgit2 only through the credential callback, which answers at most
//! once per operation: libgit2 re-asks after every HTTP 401, so a callback that always answers
//! would loop on a bad token. Refusing the second request turns a bad token into one clear
//! error after a single round-trip (the gitui pattern).

use std::cell::Cell;
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::OnceLock;

/// The environment variable the token may come from.
const TOKEN_ENV: &str = "GITHUB_TOKEN";

/// `GITHUB_TOKEN` as it was when [`take_env_token`] ran (`None` inside: it was unset).
static ENV_TOKEN: OnceLock<Option<String>> = OnceLock::new();

/// Takes `GITHUB_TOKEN` into custody: keeps it in memory for [`resolve_token`], overwrites
/// its bytes in the process's environment block and removes the variable, so no child
/// (hook, git helper, unconfined `bash`) inherits it and `/proc/<foreman>/environ` no longer
/// shows it (the kernel reads that file from the original block, which `unsetenv` alone
/// leaves intact).
///
/// Call it first thing in `main`, while the process has one thread: changing the
/// environment races with any other thread reading it.
#[allow(unsafe_code)] // the environment block has no safe writer
pub fn take_env_token() {
    let value = std::env::var(TOKEN_ENV).ok();
    if ENV_TOKEN.set(value.clone()).is_err() || value.is_none() {
        return;
    }
    let name = std::ffi::CString::new(TOKEN_ENV).expect("no NUL in the name");
    // SAFETY: single-threaded (documented contract). getenv returns the value's bytes in the
    // live environment, NUL-terminated and writable (the initial block is on the stack,
    // setenv's copies on the heap); they are zeroed up to their terminator, then the entry
    // is removed.
    unsafe {
        let p = libc::getenv(name.as_ptr());
        if !p.is_null() {
            let len = libc::strlen(p);
            std::ptr::write_bytes(p, 0, len);
        }
        std::env::remove_var(TOKEN_ENV);
    }
}

/// A GitHub token. `Debug`/`Display` print `***` so it can't slip into logs or error text.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(s: impl Into<String>) -> Token {
        Token(s.into())
    }
    /// The secret itself; only for credential callbacks and HTTP auth headers.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Upstream's exact wording (§3.4), so operators' runbooks keep matching.
    #[error("repo: no GitHub token found (set GITHUB_TOKEN env or ~/.config/foreman/github-token)")]
    NotFound,
    #[error("repo: cannot read GitHub token file {}: {reason}; fix its permissions or set GITHUB_TOKEN", path.display())]
    Unreadable { path: PathBuf, reason: String },
}

/// `~/.config/foreman/github-token`, or `None` when no home directory can be determined.
pub fn token_file_path() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| {
        d.home_dir()
            .join(".config")
            .join("foreman")
            .join("github-token")
    })
}

/// `$GITHUB_TOKEN` (trimmed), then `~/.config/foreman/github-token` (trimmed).
/// Once [`take_env_token`] ran, the environment value is the one it kept.
pub fn resolve_token() -> Result<Token, AuthError> {
    let env_value = match ENV_TOKEN.get() {
        Some(kept) => kept.clone(),
        None => std::env::var(TOKEN_ENV).ok(),
    };
    match token_file_path() {
        Some(file) => resolve_token_from(env_value, &file),
        None => resolve_token_from(env_value, Path::new("")),
    }
}

/// Testable core of [`resolve_token`]: an empty or whitespace-only source counts as absent.
pub fn resolve_token_from(env_value: Option<String>, file: &Path) -> Result<Token, AuthError> {
    if let Some(v) = env_value {
        let v = v.trim();
        if !v.is_empty() {
            return Ok(Token::new(v));
        }
    }
    if file.as_os_str().is_empty() {
        return Err(AuthError::NotFound);
    }
    match std::fs::read_to_string(file) {
        Ok(s) if !s.trim().is_empty() => Ok(Token::new(s.trim())),
        Ok(_) => Err(AuthError::NotFound),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(AuthError::NotFound),
        Err(e) => Err(AuthError::Unreadable {
            path: file.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

/// User name sent with the token over HTTP basic auth (what GitHub expects for app/PAT tokens).
pub const TOKEN_USER: &str = "x-access-token";

/// Shared between a credential callback and the code that classifies the operation's error.
#[derive(Default)]
pub(crate) struct CredState {
    asked: Cell<u32>,
    refused: Cell<Option<&'static str>>,
}

impl CredState {
    /// Why the callback refused, if it did: the operation failed on authentication.
    pub(crate) fn refusal(&self) -> Option<&'static str> {
        self.refused.get()
    }
}

const REJECTED: &str = "the remote rejected the token (HTTP 401 after one attempt)";
const NO_TOKEN: &str = "the remote requires authentication but no token was supplied";
const NOT_HTTPS: &str =
    "the remote asked for non-password credentials; only HTTPS token auth is supported";

/// Install the fail-fast credential callback on `cbs`; returns the state to inspect on error.
pub(crate) fn install_credentials<'a>(
    cbs: &mut git2::RemoteCallbacks<'a>,
    token: Option<&'a Token>,
) -> Rc<CredState> {
    let state = Rc::new(CredState::default());
    let st = Rc::clone(&state);
    cbs.credentials(move |_url, _user, allowed| {
        let n = st.asked.get() + 1;
        st.asked.set(n);
        let refuse = |why: &'static str| {
            st.refused.set(Some(why));
            Err(git2::Error::new(
                git2::ErrorCode::Auth,
                git2::ErrorClass::Callback,
                why,
            ))
        };
        let Some(token) = token else {
            return refuse(NO_TOKEN);
        };
        if n > 1 {
            return refuse(REJECTED);
        }
        if !allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT) {
            return refuse(NOT_HTTPS);
        }
        git2::Cred::userpass_plaintext(TOKEN_USER, token.expose())
    });
    state
}

/// `scheme://user:pass@host/…` → `scheme://***@host/…`; other strings unchanged.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}://***@{}", &url[..scheme_end], &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// Remove the token and any URL credentials from text bound for an error or a log line.
pub(crate) fn scrub(text: &str, token: Option<&Token>) -> String {
    let mut out = text.to_string();
    if let Some(t) = token
        && !t.expose().is_empty()
    {
        out = out.replace(t.expose(), "***");
    }
    out.split(' ').map(redact_url).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_never_prints() {
        let t = Token::new("ghp_secret");
        assert_eq!(format!("{t:?} {t}"), "*** ***");
        assert_eq!(t.expose(), "ghp_secret");
    }

    #[test]
    fn redacts_userinfo_only() {
        assert_eq!(
            redact_url("https://x-access-token:abc@github.com/o/r.git"),
            "https://***@github.com/o/r.git"
        );
        assert_eq!(
            redact_url("https://github.com/a@b"),
            "https://github.com/a@b"
        );
        assert_eq!(redact_url("/tmp/x"), "/tmp/x");
    }

    #[test]
    fn scrub_removes_token_and_url_credentials() {
        let t = Token::new("s3cret");
        let s = scrub("failed for http://u:pw@h/r.git with s3cret", Some(&t));
        assert_eq!(s, "failed for http://***@h/r.git with ***");
    }
}
