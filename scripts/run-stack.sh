#!/usr/bin/env bash
# Start the local ganglia-rs stack on loopback with built-in defaults; Ctrl-C stops everything.
# Every daemon is started from target/release and stopped by its pid on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release
STATE=${GANGLIA_RS_STATE:-$PWD/run}
mkdir -p "$STATE"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stack stopped"
}
trap cleanup EXIT INT TERM

start() { # name, args...
  local name=$1; shift
  if [ -x "$BIN/$name" ]; then
    "$BIN/$name" "$@" > "$STATE/$name.log" 2>&1 &
    pids+=($!)
    echo "started $name (pid $!, log $STATE/$name.log)"
  fi
}

# Configs are written here from the built-in defaults, so a packaged /etc/ganglia/*.conf (which
# may multicast on the real interface) is never picked up.
"$BIN/gmond-rs" -t > "$STATE/gmond.conf"
cat > "$STATE/gmetad.conf" <<CONF
# gmetad-rs built-in default, on loopback (see gmetad::config::Config::builtin)
data_source "local" 15 127.0.0.1:8649
gridname "local"
xml_bind 127.0.0.1
interactive_bind 127.0.0.1
xml_port 8651
interactive_port 8652
rrd_rootdir "$STATE/rrds"
setuid off
CONF
mkdir -p "$STATE/rrds"

start gmond-rs -f -c "$STATE/gmond.conf"
start gmetad-rs -f -c "$STATE/gmetad.conf"
start gweb-rs --listen 127.0.0.1:8080 --gmetad 127.0.0.1:8652 --rrds "$STATE/rrds"
if [ -x "$BIN/relay-rs" ]; then
  # relay-rs reports group "relay" through its embedded agent to gmond-rs on 127.0.0.1:8649.
  [ -s "$STATE/relay.secret" ] || (umask 077; head -c 32 /dev/urandom | base64 > "$STATE/relay.secret")
  start relay-rs --secret-file "$STATE/relay.secret" --metric-every 5
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/7000) 2>/dev/null && break; sleep 0.1; done
  # A small bounded load so the relay graphs move: 2 rooms x 3 members at a tenth of the rate.
  start relay-load --secret-file "$STATE/relay.secret" --rooms 2 --members 3 --rate-scale 0.1 --seconds 86400 --quiet
fi

sleep 1
echo
echo "gmond-rs XML:        telnet 127.0.0.1 8649   (or: nc 127.0.0.1 8649)"
[ -x "$BIN/gmetad-rs" ] && echo "gmetad-rs XML:       127.0.0.1:8651, interactive 127.0.0.1:8652, RRDs under $STATE/rrds"
[ -x "$BIN/gweb-rs" ] && echo "web UI:              http://127.0.0.1:8080/"
[ -x "$BIN/gstat-rs" ] && echo "cluster overview:    $BIN/gstat-rs -a"
[ -x "$BIN/relay-rs" ] && echo "relay-rs:            control 127.0.0.1:7000, media udp 127.0.0.1:7001, stats: curl 127.0.0.1:7002/stats"
echo "Ctrl-C stops the stack."
wait -n "${pids[@]}" || true
