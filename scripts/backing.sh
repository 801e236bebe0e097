#!/usr/bin/env bash
# Backing services (Redis, the MongoDB-compatible store, S3-compatible versitygw) for local runs and tests.
#
#   scripts/backing.sh up       start all three on loopback (idempotent); uses `docker compose` when an engine answers
#   scripts/backing.sh down     stop them (no stray processes left)
#   scripts/backing.sh status   show what runs
#   scripts/backing.sh env      print the connection environment (eval "$(scripts/backing.sh env)")
#   scripts/backing.sh jaeger up|down|status|build
#                               optional trace backend: Jaeger v2 all-in-one (OTLP/HTTP in, traces in memory, UI and
#                               query API on http://127.0.0.1:16686); `env` then also prints OTEL_EXPORTER_OTLP_ENDPOINT
#                               and `down` stops it with the rest
#
# Native mode keeps binaries in .tools/ and data under .data/ (both git-ignored). Ports can be moved with
# SELFIE_REDIS_PORT, SELFIE_MONGO_PORT and SELFIE_S3_PORT. The MongoDB stand-in is mongo-java-server with our
# durability and index additions (tools/mongo-store, built with Maven); SELFIE_STORE_HEAP_MB caps its Java heap.
# Jaeger is built with `go install` from the pinned tool module tools/jaeger (its go.mod names the version; a cold
# build takes several minutes) and runs with tools/jaeger/config.yaml; SELFIE_JAEGER_PORT (UI and query API),
# SELFIE_JAEGER_OTLP_PORT and SELFIE_JAEGER_GRPC_PORT move it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools/bin"
DATA="${SELFIE_DATA_DIR:-$ROOT/.data}"
RUN="$DATA/run"
REDIS_PORT="${SELFIE_REDIS_PORT:-6390}"
MONGO_PORT="${SELFIE_MONGO_PORT:-27027}"
S3_PORT="${SELFIE_S3_PORT:-7070}"
S3_ACCESS_KEY="${SELFIE_S3_ACCESS_KEY:-selfieadmin}"
S3_SECRET_KEY="${SELFIE_S3_SECRET_KEY:-selfieadmin-secret}"
STORE_DIR="$ROOT/tools/mongo-store"
VERSITYGW_VERSION="v1.7.0"
JAEGER_DIR="$ROOT/tools/jaeger"
JAEGER_PORT="${SELFIE_JAEGER_PORT:-16686}"
JAEGER_OTLP_PORT="${SELFIE_JAEGER_OTLP_PORT:-4318}"
JAEGER_GRPC_PORT="${SELFIE_JAEGER_GRPC_PORT:-16685}"

log() { printf '[backing] %s\n' "$*" >&2; }

docker_available() {
  [ "${SELFIE_BACKING:-}" = "native" ] && return 1
  [ "${SELFIE_BACKING:-}" = "docker" ] && return 0
  command -v docker >/dev/null 2>&1 && timeout 5 docker info >/dev/null 2>&1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && exec 3>&- 3<&-; }

wait_port() { # name port seconds
  local name=$1 port=$2 deadline=$((SECONDS + $3))
  until port_open "$port"; do
    if [ $SECONDS -ge $deadline ] || { [ -f "$RUN/$name.pid" ] && ! pid_alive "$name"; }; then
      log "$name did not open port $port; last log lines:"
      tail -n 20 "$RUN/$name.log" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

pid_alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

ensure_redis() {
  if ! command -v redis-server >/dev/null 2>&1; then
    log "installing redis-server from Debian"
    apt_install redis-server
  fi
}

apt_install() {
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

ensure_go_binaries() {
  mkdir -p "$TOOLS"
  export GOBIN="$TOOLS" GOTOOLCHAIN=local
  if [ ! -x "$TOOLS/versitygw" ]; then
    log "building versitygw $VERSITYGW_VERSION (cold build takes a few minutes)"
    (cd "$ROOT" && go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION")
  fi
}

# The Jaeger version tools/jaeger/go.mod requires, and the one the binary in .tools/bin was built from.
jaeger_wanted() { awk '$1 == "github.com/jaegertracing/jaeger" { print $2 }' "$JAEGER_DIR/go.mod"; }
jaeger_built() {
  [ -x "$TOOLS/jaeger" ] || return 0
  # The module of the main package is its `mod` line, even when it is built from our tool module.
  go version -m "$TOOLS/jaeger" 2>/dev/null | awk '$1 == "mod" && $2 == "github.com/jaegertracing/jaeger" { print $3 }'
}

ensure_jaeger() {
  mkdir -p "$TOOLS"
  local want; want=$(jaeger_wanted)
  if [ "$(jaeger_built)" != "$want" ]; then
    # `go install module/cmd@version` refuses Jaeger (its go.mod has a replace directive), so the version is pinned
    # in a tool module of ours, go.sum included, with the same replace.
    log "building Jaeger $want (v2 all-in-one; a cold build takes several minutes)"
    (cd "$JAEGER_DIR" && GOBIN="$TOOLS" GOTOOLCHAIN=local GOFLAGS=-mod=readonly go install github.com/jaegertracing/jaeger/cmd/jaeger)
  fi
}

jaeger_up() {
  mkdir -p "$RUN"
  ensure_jaeger
  start_proc jaeger "$JAEGER_PORT" env SELFIE_JAEGER_PORT="$JAEGER_PORT" SELFIE_JAEGER_OTLP_PORT="$JAEGER_OTLP_PORT" \
    SELFIE_JAEGER_GRPC_PORT="$JAEGER_GRPC_PORT" "$TOOLS/jaeger" --config "$JAEGER_DIR/config.yaml"
  wait_port jaeger "$JAEGER_OTLP_PORT" 30
  log "traces: OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$JAEGER_OTLP_PORT, UI http://127.0.0.1:$JAEGER_PORT"
}

store_stamp() { cat "$STORE_DIR/pom.xml" $(find "$STORE_DIR/src" -type f | sort) | sha256sum | cut -c1-16; }

ensure_store() {
  if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
    log "installing Debian's OpenJDK 17 and Maven for the MongoDB stand-in"
    apt_install openjdk-17-jdk-headless maven
  fi
  local stamp; stamp=$(store_stamp)
  if [ "$(cat "$STORE_DIR/target/.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -f "$STORE_DIR/target/mongo-store.jar" ]; then
    log "building the MongoDB stand-in (tools/mongo-store) with Maven"
    mvn -q -B -f "$STORE_DIR/pom.xml" package -DskipTests >"$RUN/store-build.log" 2>&1 \
      || { tail -n 30 "$RUN/store-build.log" >&2; return 1; }
    echo "$stamp" >"$STORE_DIR/target/.stamp"
  fi
}

start_proc() { # name port command...
  local name=$1 port=$2; shift 2
  if pid_alive "$name" && port_open "$port"; then
    log "$name already running (pid $(cat "$RUN/$name.pid"), port $port)"
    return 0
  fi
  if port_open "$port"; then
    log "port $port is taken by another process; set SELFIE_${name^^}_PORT to move $name"
    return 1
  fi
  # setsid puts the service in its own session so it outlives the shell that started it.
  setsid "$@" >>"$RUN/$name.log" 2>&1 < /dev/null &
  echo $! >"$RUN/$name.pid"
  # The store opens its port once its in-memory indexes are rebuilt: about 12 s per 100,000 photos.
  wait_port "$name" "$port" "${SELFIE_START_TIMEOUT_S:-300}"
  log "$name up on 127.0.0.1:$port"
}

native_up() {
  mkdir -p "$RUN" "$DATA/redis" "$DATA/mongo-store" "$DATA/s3" "$DATA/s3-meta"
  ensure_redis
  # The Go build and the Maven build are independent; run them side by side on a cold machine.
  ensure_go_binaries & local go_pid=$!
  ensure_store
  wait "$go_pid"
  start_proc redis "$REDIS_PORT" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$DATA/redis" \
    --save "" --appendonly yes --maxmemory-policy noeviction --protected-mode yes --daemonize no
  start_proc mongo "$MONGO_PORT" "$STORE_DIR/run" --listen "127.0.0.1:$MONGO_PORT" --data "$DATA/mongo-store"
  start_proc s3 "$S3_PORT" env ROOT_ACCESS_KEY="$S3_ACCESS_KEY" ROOT_SECRET_KEY="$S3_SECRET_KEY" \
    "$TOOLS/versitygw" --port "127.0.0.1:$S3_PORT" posix "$DATA/s3"
}

stop_proc() {
  local name=$1 pid
  [ -f "$RUN/$name.pid" ] || return 0
  pid=$(cat "$RUN/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    log "$name stopped"
  fi
  rm -f "$RUN/$name.pid"
}

native_down() { for n in jaeger s3 mongo redis; do stop_proc "$n"; done; }

native_status() {
  local rc=0
  for n in redis mongo s3; do
    if pid_alive "$n"; then echo "$n: running (pid $(cat "$RUN/$n.pid"))"; else echo "$n: stopped"; rc=3; fi
  done
  # Optional: reported, but not needed for "running".
  if pid_alive jaeger; then echo "jaeger: running (pid $(cat "$RUN/jaeger.pid"))"; fi
  return $rc
}

compose() { docker compose -f "$ROOT/docker-compose.yml" "$@"; }

print_env() {
  cat <<EOF
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT
export MONGODB_URI=mongodb://127.0.0.1:$MONGO_PORT/selfie
export S3_ENDPOINT=http://127.0.0.1:$S3_PORT
export S3_ACCESS_KEY=$S3_ACCESS_KEY
export S3_SECRET_KEY=$S3_SECRET_KEY
EOF
  # Traces go to Jaeger while it runs (natively or in compose).
  if pid_alive jaeger || { docker_available && [ -n "$(compose ps -q jaeger 2>/dev/null)" ]; }; then
    echo "export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$JAEGER_OTLP_PORT"
  fi
}

jaeger_cmd() {
  case "${1:-up}" in
    # Built natively whatever the mode: test/tracing runs its own Jaeger from .tools/bin.
    build) mkdir -p "$RUN"; ensure_jaeger ;;
    up) if docker_available; then compose up -d --wait jaeger; else jaeger_up; fi ;;
    down) if docker_available; then compose stop jaeger; else stop_proc jaeger; fi ;;
    status)
      if docker_available; then compose ps jaeger
      elif pid_alive jaeger; then echo "jaeger: running (pid $(cat "$RUN/jaeger.pid"))"
      else echo "jaeger: stopped"; return 3
      fi
      ;;
    *) echo "usage: $0 jaeger up|down|status|build" >&2; exit 2 ;;
  esac
}

cmd="${1:-status}"
if [ "$cmd" = jaeger ]; then
  jaeger_cmd "${2:-up}"
  exit $?
fi
if docker_available; then
  # With an engine the compose file publishes the same ports, so `env` stays valid.
  case "$cmd" in
    up) compose up -d --wait redis mongo s3 ;;
    down) compose stop redis mongo s3 ;;
    status) compose ps redis mongo s3 ;;
    env) print_env ;;
    *) echo "usage: $0 up|down|status|env" >&2; exit 2 ;;
  esac
  exit 0
fi

case "$cmd" in
  up) native_up ;;
  down) native_down ;;
  status) native_status ;;
  env) print_env ;;
  build) mkdir -p "$RUN"; ensure_redis; ensure_go_binaries; ensure_store ;;
  *) echo "usage: $0 up|down|status|env|build|jaeger <up|down|status|build>" >&2; exit 2 ;;
esac
