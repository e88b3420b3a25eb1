#!/usr/bin/env bash
# Debian packages the app and the tests need: Qt's runtime libraries, Chromium for
# the pixel tests, poppler for rendering PDFs, OpenSSH for the deploy test,
# Node.js with npm for the relay tests' official JavaScript clients, and the
# PostgreSQL server the relay's PostgreSQL buffer is tested against (the tests
# start their own throw-away cluster on a loopback port: tests/pg.py).
set -euo pipefail
packages=(
  libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0
  libxcb-render-util0 libxcb-image0 fonts-dejavu-core
  chromium chromium-driver poppler-utils openssh-server openssh-client xvfb postgresql
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node may come from elsewhere (NodeSource's nodejs carries npm and conflicts
# with Debian's npm package): only a machine without the commands gets Debian's.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "system-deps: not a Debian system; install these yourself: ${missing[*]}" >&2
  exit 0
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "system-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
