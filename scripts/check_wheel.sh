#!/usr/bin/env bash
# Build SegDesk's wheel and install it the ways docs/INSTALL.md tells people to:
#   1. pip install into a fresh venv: --version, demo, report summary, the app offscreen;
#      resources and the pixel script load from the installed package, not this checkout
#   2. pipx install: --version
#   3. the relay without Qt, both ways: the relay-only wheel (what `relay deploy` and the
#      Dockerfile install) and `pip install --no-deps segdesk` + the relay's requirements;
#      each serves /healthz
#
# Dependencies come from a local wheelhouse (SEGDESK_WHEELHOUSE, default
# ~/.cache/segdesk-check/wheels) with --no-index; it is filled from the package
# index only when something is missing. Prints the time each step took.
# Usage: scripts/check_wheel.sh   (PY=python3 by default; KEEP=1 keeps the temp folder)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PY:-python3}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/segdesk-check
WHEELHOUSE=${SEGDESK_WHEELHOUSE:-$CACHE/wheels}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/segdesk-wheel.XXXXXX")
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
unset SEGDESK_WORKSPACE PYTHONPATH
START=$SECONDS
step_start=$SECONDS
RELAY_PIDS=()

cleanup() {
    for pid in "${RELAY_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [[ -z ${KEEP:-} ]]; then rm -rf "$OUT"; else echo "kept $OUT"; fi
}
trap cleanup EXIT

step() {
    printf '  %3ds  %s\n' $((SECONDS - step_start)) "$1"
    step_start=$SECONDS
}

fail() {
    echo "check_wheel: $*" >&2
    exit 1
}

# Install into a venv from the wheelhouse, filling the wheelhouse first when it lacks something.
wheelhouse_install() {
    local venv=$1
    shift
    if ! "$venv/bin/pip" install -q --no-index --find-links "$WHEELHOUSE" --find-links "$OUT/dist" "$@" 2>"$OUT/pip.err"; then
        echo "  (filling the wheelhouse $WHEELHOUSE from the package index)"
        mkdir -p "$WHEELHOUSE"
        # Our own wheels never stay there: pip would read an older build's requirements
        # from a same-named file and miss a dependency added since.
        rm -f "$WHEELHOUSE"/segdesk-*.whl "$WHEELHOUSE"/segdesk_relay-*.whl
        "$venv/bin/pip" download -q -d "$WHEELHOUSE" --find-links "$OUT/dist" "$@" 2>"$OUT/pip.err" \
            || { grep -v "^WARNING: Location" "$OUT/pip.err" >&2; fail "pip download failed"; }
        rm -f "$WHEELHOUSE"/segdesk-*.whl "$WHEELHOUSE"/segdesk_relay-*.whl
        "$venv/bin/pip" install -q --no-index --find-links "$WHEELHOUSE" --find-links "$OUT/dist" "$@"
    fi
}

# Start a relay from $1/bin/segdesk-relay and check /healthz answers with the pull token.
check_relay() {
    local venv=$1 data=$OUT/relay-data-$2 port token
    token=$("$venv/bin/segdesk-relay" init --data "$data" --json | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["pull_token"])')
    port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$venv/bin/segdesk-relay" serve --data "$data" --port "$port" >"$OUT/relay-$2.log" 2>&1 &
    RELAY_PIDS+=($!)
    "$venv/bin/python" - "$port" "$token" <<'EOF' || { cat "$OUT/relay-$2.log" >&2; fail "relay ($2) did not serve /healthz"; }
import sys, time, urllib.error, urllib.request
port, token = sys.argv[1], sys.argv[2]
url = f"http://127.0.0.1:{port}/healthz"
for _ in range(100):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"}), timeout=2) as r:
            assert r.status == 200, r.status
            break
    except (urllib.error.URLError, ConnectionError):
        time.sleep(0.1)
else:
    sys.exit(1)
with urllib.request.urlopen(f"http://127.0.0.1:{port}/p.js", timeout=2) as r:  # the pixel script ships
    assert r.status == 200 and b"segdesk" in r.read()
try:  # without the token it refuses
    urllib.request.urlopen(url, timeout=2)
    sys.exit("healthz answered without the pull token")
except urllib.error.HTTPError as exc:
    assert exc.code == 401, exc.code
EOF
    kill "${RELAY_PIDS[-1]}"
    wait "${RELAY_PIDS[-1]}" 2>/dev/null || true
}

no_qt() {
    if "$1/bin/python" -c 'import PySide6' 2>/dev/null; then fail "PySide6 is installed in the relay venv $1"; fi
}

echo "check_wheel: building and installing SegDesk from its wheel (in $OUT)"

# --- build -----------------------------------------------------------------------------
# From a copy of the checkout's files (tracked and new, not ignored): setuptools builds
# in the source tree, and a stale build/lib there would leak deleted files into the wheel.
mkdir -p "$OUT/src"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done \
    | tar -c --null -T - | tar -x -C "$OUT/src"
"$PY" -m pip wheel -q --no-deps -w "$OUT/dist" "$OUT/src" >/dev/null
WHEEL=$(ls "$OUT"/dist/segdesk-*.whl)
"$PY" - "$WHEEL" <<'EOF'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
need = ["segdesk/resources/__init__.py", "segdesk/resources/style.qss", "segdesk/resources/icons/app.svg",
        "segdesk/resources/com.segdesk.SegDesk.desktop", "segdesk/resources/com.segdesk.SegDesk.metainfo.xml",
        "segdesk/collector_relay/static/p.js", "segdesk/cli.py"]
missing = [n for n in need if n not in names]
if missing:
    sys.exit(f"check_wheel: the wheel lacks {missing}")
stray = [n for n in names if n.startswith(("tests/", "bench/", "resources/"))]
if stray:
    sys.exit(f"check_wheel: the wheel carries {stray[:5]}")
EOF
step "built $(basename "$WHEEL") ($(du -h "$WHEEL" | cut -f1)); resources and p.js inside"

# --- 1. pip install segdesk into a fresh venv --------------------------------------------
APP=$OUT/venv-app
"$PY" -m venv "$APP"
wheelhouse_install "$APP" "$WHEEL"
step "pip install segdesk (fresh venv)"

cd "$OUT"  # nothing from the checkout may be importable from here on
WS=$OUT/workspace
[[ $("$APP/bin/segdesk" --version) == "segdesk $("$PY" -c 'import tomllib; print(tomllib.load(open("'"$ROOT"'/pyproject.toml","rb"))["project"]["version"])')" ]] \
    || fail "segdesk --version printed the wrong version"
"$APP/bin/segdesk" --workspace "$WS" demo --no-open --contacts 50 >"$OUT/demo.log" 2>&1 \
    || { cat "$OUT/demo.log" >&2; fail "segdesk demo --no-open failed"; }
"$APP/bin/segdesk" --workspace "$WS" report summary --json >"$OUT/summary.json"
"$APP/bin/python" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["contacts"] == 50, d' "$OUT/summary.json" \
    || fail "report summary --json is not the demo's 50 contacts"
QT_QPA_PLATFORM=offscreen "$APP/bin/python" - "$APP" <<'EOF' || fail "resources do not load from the installed package"
import sys
from pathlib import Path
import segdesk
from segdesk.ui import style
from segdesk.collector_relay import script

assert Path(segdesk.__file__).is_relative_to(sys.argv[1]), segdesk.__file__
assert (style.RESOURCES / "style.qss").is_file() and (style.ICONS / "app.svg").is_file(), style.RESOURCES
assert (script.STATIC / "p.js").is_file(), script.STATIC
sheet = style.stylesheet(style.LIGHT)
assert style.LIGHT["accent"] in sheet and style.ICONS.as_posix() in sheet, "style sheet missing or unfilled"
EOF
QT_QPA_PLATFORM=offscreen SEGDESK_QUIT_AFTER_MS=300 timeout 60 "$APP/bin/segdesk" --workspace "$WS" app \
    || fail "the app did not open and close offscreen"
step "segdesk --version, demo --no-open --contacts 50, report summary --json, app offscreen"

# --- 2. pipx install segdesk -------------------------------------------------------------
if "$PY" -m pipx --version >/dev/null 2>&1; then
    PIPX=("$PY" -m pipx)
else
    [[ -x $CACHE/pipx-venv/bin/pipx ]] || { "$PY" -m venv "$CACHE/pipx-venv" && "$CACHE/pipx-venv/bin/pip" install -q pipx; }
    PIPX=("$CACHE/pipx-venv/bin/pipx")
fi
PIPX_HOME=$OUT/pipx PIPX_BIN_DIR=$OUT/pipx/bin PIPX_MAN_DIR=$OUT/pipx/man \
    "${PIPX[@]}" install --quiet --pip-args="--no-index --find-links $WHEELHOUSE" "$WHEEL" >/dev/null
"$OUT/pipx/bin/segdesk" --version >/dev/null || fail "pipx's segdesk does not run"
"$OUT/pipx/bin/segdesk" --workspace "$WS" report summary --json >/dev/null || fail "pipx's segdesk cannot read the workspace"
step "pipx install segdesk: --version, report summary"

# --- 3a. the relay-only wheel, built by the installed segdesk (relay deploy, Dockerfile) --
RELAY=$OUT/venv-relay
"$APP/bin/python" -m segdesk.collector_relay.wheel "$OUT/dist" >/dev/null
"$PY" -m venv "$RELAY"
wheelhouse_install "$RELAY" "$(ls "$OUT"/dist/segdesk_relay-*.whl)"
no_qt "$RELAY"
check_relay "$RELAY" only
step "relay-only wheel (segdesk-relay) without Qt: serve, /healthz, /p.js"

# --- 3b. pip install --no-deps segdesk + the relay's requirements -------------------------
NODEPS=$OUT/venv-nodeps
"$PY" -m venv "$NODEPS"
"$NODEPS/bin/pip" install -q --no-deps "$WHEEL"
mapfile -t RELAY_REQS < <("$APP/bin/python" -c 'from segdesk.collector_relay.wheel import REQUIRES; print(*REQUIRES, sep="\n")')
wheelhouse_install "$NODEPS" "${RELAY_REQS[@]}"
no_qt "$NODEPS"
check_relay "$NODEPS" nodeps
step "pip install --no-deps segdesk + relay requirements, without Qt: serve, /healthz, /p.js"

echo "check_wheel: OK in $((SECONDS - START))s"
