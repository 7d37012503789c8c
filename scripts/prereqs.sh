#!/usr/bin/env bash
# Idempotent prerequisites for building and testing ganglia-rs on Debian/Ubuntu.
# Installs only what is missing. Debian's Ganglia daemons are installed as interop peers with a
# policy-rc.d guard so that no service starts (Debian's gmond config multicasts on the real
# interface; tests only ever run it on configs they write, on loopback).
set -euo pipefail

PKGS=(
  pkg-config librrd-dev libclang-dev clang rrdtool rrdcached zlib1g-dev
  ganglia-monitor gmetad graphite-carbon iproute2 procps nftables
  protobuf-compiler memcached libmemcached-tools
  chromium chromium-driver
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
)
# Extra groups, requested by make targets that need them: PREREQS_EXTRA="chromium ..."
read -r -a EXTRA <<< "${PREREQS_EXTRA:-}"
PKGS+=("${EXTRA[@]}")

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "prereqs: need root or sudo to install: ${PKGS[*]}" >&2; exit 1; }
  SUDO="sudo"
fi

missing=()
for p in "${PKGS[@]}"; do
  [ -n "$p" ] || continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "prereqs: installing ${missing[*]}"
  guard_made=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# ganglia-rs: keep package services from starting\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    guard_made=1
  fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  # Belt and braces: if a packaged service started anyway, stop it through its init script.
  for svc in ganglia-monitor gmetad rrdcached; do
    $SUDO service "$svc" stop >/dev/null 2>&1 || true
  done
  [ "$guard_made" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d
fi

command -v cargo >/dev/null || { echo "prereqs: cargo (Rust toolchain) is required; install it with rustup" >&2; exit 1; }
echo "prereqs: ok"
