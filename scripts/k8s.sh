#!/usr/bin/env bash
# A real Kubernetes 1.20 API server (etcd + kube-apiserver, no kubelet/controllers) on loopback,
# for the CRD end-to-end test (tests/e2e_cluster_crds.rs). Logic adapted from the testbed's
# k8s-start.sh/k8s-stop.sh so the repo needs nothing from the testbed at run time except the
# prebuilt kube-apiserver binary (no registry ships it).
#
#   scripts/k8s.sh start DIR   -> DIR/kubeconfig (token auth, CA-verified TLS), prints "ready";
#                                 DIR/audit.log lists every watch request (one JSON line each)
#   scripts/k8s.sh stop DIR    -> stops apiserver then etcd, by PID
#
# Env: KUBE_PORT (16443), ETCD_PORT (12379; peer port = ETCD_PORT+1),
#      FOREMAN_KUBE_APISERVER_XZ (a prebuilt archive; default the team testbed's
#      ../shared/testbed/kube-apiserver-v1.20.2-linux-amd64.xz when it exists),
#      FOREMAN_KUBE_APISERVER_XZ=none: ignore any archive (build from source or use the cache),
#      FOREMAN_PEERS_DIR (~/.cache/foreman-peers: the built binary is cached in k8s-bin/),
#      FOREMAN_K8S_BIN_DIR (that cache dir itself; .ci/run points it at a fresh one).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# etcd 3.4 from Debian; openssl for the service-account key; curl for the readiness probe.
ensure_packages() {
  local need=()
  command -v etcd >/dev/null || need+=(etcd-server)
  command -v openssl >/dev/null || need+=(openssl)
  command -v curl >/dev/null || need+=(curl)
  command -v xz >/dev/null || need+=(xz-utils)
  # Debian ships kubectl 1.20 as kubernetes-client (the same release as the apiserver).
  command -v kubectl >/dev/null || need+=(kubernetes-client)
  if ((${#need[@]})); then
    local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
  command -v etcd >/dev/null || die "etcd not found after installing etcd-server"
}

# kube-apiserver into DIR/bin once: from a prebuilt archive if there is one, else the cached
# build, else built from Debian's source now (and cached for next time).
ensure_apiserver() {
  local d=$1 xz=${FOREMAN_KUBE_APISERVER_XZ:-$ROOT/../shared/testbed/kube-apiserver-v1.20.2-linux-amd64.xz}
  local cache=${FOREMAN_K8S_BIN_DIR:-${FOREMAN_PEERS_DIR:-$HOME/.cache/foreman-peers}/k8s-bin}
  [ -x "$d/bin/kube-apiserver" ] && return 0
  mkdir -p "$d/bin"
  if [ "$xz" != none ] && [ -f "$xz" ]; then
    xz -dc "$xz" > "$d/bin/kube-apiserver.tmp"
    chmod +x "$d/bin/kube-apiserver.tmp"
    mv "$d/bin/kube-apiserver.tmp" "$d/bin/kube-apiserver"
    return 0
  fi
  [ -n "${FOREMAN_KUBE_APISERVER_XZ:-}" ] && [ "$xz" != none ] && die "FOREMAN_KUBE_APISERVER_XZ=$xz: no such file"
  if [ ! -x "$cache/kube-apiserver" ]; then
    printf 'no prebuilt kube-apiserver: building v1.20.2 from Debian source into %s (~4 min, once)\n' "$cache" >&2
    "$ROOT/scripts/k8s-build-apiserver" "$cache" >&2 || die "building kube-apiserver failed (see above); or set FOREMAN_KUBE_APISERVER_XZ to a prebuilt archive"
  fi
  cp "$cache/kube-apiserver" "$d/bin/kube-apiserver"
}

start() {
  local D=${1:?usage: k8s.sh start DIR}
  mkdir -p "$D"; D=$(cd "$D" && pwd)
  ensure_packages
  ensure_apiserver "$D"
  mkdir -p "$D/etcd" "$D/certs"
  local EP=${ETCD_PORT:-12379} KP=${KUBE_PORT:-16443}; local PP=$((EP + 1))
  [ -f "$D/sa.key" ] || { openssl genrsa -out "$D/sa.key" 2048 2>/dev/null; openssl rsa -in "$D/sa.key" -pubout -out "$D/sa.pub" 2>/dev/null; }
  echo "testtoken,admin,admin-uid,system:masters" > "$D/tokens.csv"
  # Audit watch requests only, once each (tests count them: one AgenticTask watch per console).
  cat > "$D/audit-policy.yaml" <<'AP'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [ResponseStarted, ResponseComplete]
rules:
- level: Metadata
  verbs: [watch]
- level: None
AP
  etcd --name t --data-dir "$D/etcd" --listen-client-urls "http://127.0.0.1:$EP" --advertise-client-urls "http://127.0.0.1:$EP" \
       --listen-peer-urls "http://127.0.0.1:$PP" --initial-advertise-peer-urls "http://127.0.0.1:$PP" \
       --initial-cluster "t=http://127.0.0.1:$PP" > "$D/etcd.log" 2>&1 &
  echo $! > "$D/etcd.pid"
  "$D/bin/kube-apiserver" --etcd-servers="http://127.0.0.1:$EP" --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
    --secure-port="$KP" --insecure-port=0 --cert-dir="$D/certs" --token-auth-file="$D/tokens.csv" --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$D/sa.pub" \
    --service-account-signing-key-file="$D/sa.key" --service-cluster-ip-range=10.96.0.0/24 \
    --disable-admission-plugins=ServiceAccount --enable-priority-and-fairness=false \
    --endpoint-reconciler-type=none --audit-policy-file="$D/audit-policy.yaml" --audit-log-path="$D/audit.log" \
    > "$D/apiserver.log" 2>&1 &
  echo $! > "$D/apiserver.pid"
  for _ in $(seq 1 600); do
    # /readyz goes green before the bootstrap controller creates namespace "default": wait for that.
    if curl -sfk -H "Authorization: Bearer testtoken" "https://127.0.0.1:$KP/api/v1/namespaces/default" >/dev/null 2>&1; then
      # apiserver.crt = serving cert + self-signed CA; keep the CA so clients verify TLS.
      awk '/BEGIN CERT/{n++} n==2' "$D/certs/apiserver.crt" > "$D/ca.crt"
      cat > "$D/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "https://127.0.0.1:$KP", certificate-authority-data: "$(base64 -w0 "$D/ca.crt")"}
users:
- name: admin
  user: {token: testtoken}
contexts:
- name: local
  context: {cluster: local, user: admin, namespace: default}
current-context: local
KC
      echo "ready"; return 0
    fi
    sleep 0.1
  done
  stop "$D"
  die "kube-apiserver not ready after 60 s (see $D/apiserver.log, $D/etcd.log)"
}

# Stop by PID: apiserver first (graceful shutdown takes a few seconds), then etcd.
stop() {
  local D=${1:?usage: k8s.sh stop DIR}
  stop_pid "$D/apiserver.pid"; stop_pid "$D/etcd.pid"
}

stop_pid() {
  local f=$1 p; [ -f "$f" ] || return 0; p=$(cat "$f")
  kill "$p" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$p" 2>/dev/null || true; rm -f "$f"
}

# Run as a command (`scripts/k8s.sh start DIR`) or source it for the functions.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  case "${1:-}" in
    start|stop) "$@" ;;
    *) die "usage: $0 start|stop DIR" ;;
  esac
fi
