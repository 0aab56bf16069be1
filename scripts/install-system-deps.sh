#!/usr/bin/env bash
# Installs what the app and the test suite need beyond Python packages, from Debian's packages:
# bubblewrap (the code sandbox: without it the app refuses to run candidate code), Chromium (browser
# tests) and PostgreSQL (the PostgreSQL store tests). Idempotent; never fatal: tests that need a
# missing piece skip with the reason.
set -u
need=()
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
  echo "install-system-deps: not root; missing ${need[*]} (the tests that need them will be skipped)" >&2
  exit 0
fi
SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
echo "install-system-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null 2>&1 || true
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
  || echo "install-system-deps: could not install ${need[*]} (the tests that need them will be skipped)" >&2
# Debian starts a cluster on install; the tests run their own server on a private port.
exit 0
