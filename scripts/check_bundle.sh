#!/usr/bin/env bash
# Build the PyInstaller bundle (build.spec) and use it: --version, a demo workspace,
# report summary --json, keyring's backends, the app offscreen to its main window and
# back out (plain `segdesk` and `segdesk app`), a PDF report, and `segdesk demo` with its live relay.
# Prints the build time, the bundle's size and its start-up time.
#
# Usage: scripts/check_bundle.sh     PY=python3 by default: the environment with SegDesk
#        and PyInstaller (installed here when missing: pip install -e '.[bundle]' does it too).
#        SKIP_BUILD=1 checks an existing bundle. DIST=dir builds into dir/segdesk (default dist;
#        the tests use a temporary one so two test runs in one checkout do not collide).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
PYINSTALLER_VERSION=6.22.3
OUT=$(mktemp -d "${TMPDIR:-/tmp}/segdesk-bundle.XXXXXX")
export PIP_DISABLE_PIP_VERSION_CHECK=1
unset SEGDESK_WORKSPACE
trap 'rm -rf "$OUT"' EXIT
DIST=$(realpath -m "${DIST:-dist}")
BIN=$DIST/segdesk/segdesk

fail() {
    echo "check_bundle: $*" >&2
    exit 1
}

ms() { date +%s%3N; }

if [[ -z ${SKIP_BUILD:-} ]]; then
    if ! "$PY" -m PyInstaller --version >/dev/null 2>&1; then
        echo "check_bundle: installing pyinstaller==$PYINSTALLER_VERSION into $("$PY" -c 'import sys; print(sys.prefix)')"
        "$PY" -m pip install -q "pyinstaller==$PYINSTALLER_VERSION" 2>&1 | grep -v "^WARNING: Location" || true
    fi
    echo "check_bundle: building with PyInstaller $("$PY" -m PyInstaller --version)"
    t0=$(ms)
    "$PY" -m PyInstaller --noconfirm --clean --log-level ERROR \
        --distpath "$DIST" --workpath "$DIST/.build" build.spec >"$OUT/build.log" 2>&1 \
        || { tail -40 "$OUT/build.log" >&2; fail "pyinstaller failed"; }
    echo "  build time: $(( ($(ms) - t0) / 1000 ))s"
fi
[[ -x $BIN ]] || fail "no bundle at $BIN"
echo "  bundle size: $(du -sh "$DIST/segdesk" | cut -f1) ($DIST/segdesk), $(find "$DIST/segdesk" -type f | wc -l) files"

cd "$OUT"  # the bundle must not lean on the checkout
WS=$OUT/workspace

version=$("$BIN" --version)
[[ $version == "segdesk "* ]] || fail "--version printed: $version"
"$BIN" --workspace "$WS" demo --no-open --contacts 50 >"$OUT/demo.log" 2>&1 || { cat "$OUT/demo.log" >&2; fail "demo --no-open"; }
"$BIN" --workspace "$WS" report summary --json >"$OUT/summary.json" || fail "report summary --json"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["contacts"] == 50, d' "$OUT/summary.json" \
    || fail "report summary --json is not the demo's 50 contacts"
email=$("$BIN" --workspace "$WS" contacts --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["contacts"][0]["email"])')
"$BIN" --workspace "$WS" journey "$email" --json >"$OUT/journey.json" || fail "journey $email --json"
# ua-parser loads its rules by module name: the bundle must carry them to name a device.
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert any(v.get("name") for v in d["devices"]), d["devices"]' \
    "$OUT/journey.json" || fail "journey --json names no device (ua-parser's rules missing from the bundle?)"
echo "  $version; demo --no-open --contacts 50, report summary --json and journey --json work"

# A big events file is parsed by spawned worker processes (core/importing/parallel_import.py): in a
# bundle they start through multiprocessing.freeze_support() in the entry script. The
# import's children that a frozen spawn starts (`segdesk --multiprocessing-fork ...`) are
# watched in /proc while it runs: they prove the workers ran, and the file must import whole.
"$PY" - "$OUT/big.jsonl" <<'PYEOF'
import json, sys, uuid
agent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15"
with open(sys.argv[1], "w") as f:
    for i in range(120_000):
        f.write(json.dumps({"type": "page", "anonymousId": f"v{i % 20000}", "messageId": str(uuid.uuid4()),
                            "timestamp": f"2026-03-{1 + i % 28:02d}T10:00:00.000Z",
                            "context": {"userAgent": agent, "page": {"url": f"https://shop.example.com/p/{i % 500}",
                                                                     "referrer": "https://www.google.com/", "title": "A product page"}},
                            "properties": {"url": f"https://shop.example.com/p/{i % 500}", "title": "A product page"}}) + "\n")
PYEOF
"$PY" - "$BIN" "$OUT/big-ws" "$OUT/big.jsonl" "$OUT/big.json" "$OUT/big.log" <<'PYEOF' \
    || { cat "$OUT/big.log" >&2; fail "import events (parsing processes)"; }
import json, os, subprocess, sys, time
binary, ws, src, out, log = sys.argv[1:]
t0 = time.monotonic()
with open(out, "wb") as stdout, open(log, "wb") as stderr:
    proc = subprocess.Popen([binary, "--workspace", ws, "import", "events", src, "--json"], stdout=stdout, stderr=stderr)
workers = set()
while proc.poll() is None:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                parent = int(f.read().rsplit(b")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                spawned = b"--multiprocessing-fork" in f.read()
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
        if parent == proc.pid and spawned:
            workers.add(pid)
    time.sleep(0.02)
ms = int((time.monotonic() - t0) * 1000)
if proc.returncode != 0:
    sys.exit(f"import events exited {proc.returncode}")
imported = json.load(open(out))["imported"]
if imported != 120_000:
    sys.exit(f"import events stored {imported} events, not 120,000")
expected = min(len(os.sched_getaffinity(0)), 4)  # parallel_import.worker_count()
if expected >= 2 and len(workers) != expected:
    sys.exit(f"{len(workers)} parsing processes seen, expected {expected}")
print(f"  import events: 120,000 events through {len(workers)} parsing processes in {ms} ms (with the refresh)")
PYEOF

# keyring finds its backends through entry points: the bundle must see what Python sees.
"$BIN" -m keyring --list-backends | sed 's/ (priority.*//' | sort >"$OUT/kr-bundle"
"$PY" -m keyring --list-backends | sed 's/ (priority.*//' | sort >"$OUT/kr-python"
diff "$OUT/kr-python" "$OUT/kr-bundle" >&2 || fail "the bundle's keyring backends differ from Python's"
# Every backend keyring lists by entry point, and what SecretService needs, loads in the bundle
# exactly when it loads in Python (macOS's fails on Linux in both).
mods=$("$PY" -c 'from importlib.metadata import entry_points as e; print(*sorted(x.value for x in e(group="keyring.backends")))')
for mod in $mods secretstorage.collection jeepney.io.blocking; do
    "$PY" -m "$mod" >/dev/null 2>&1 && want=0 || want=1
    "$BIN" -m "$mod" >/dev/null 2>&1 && got=0 || got=1
    [[ $want == "$got" ]] || fail "$mod: loads in Python ($want) but not in the bundle ($got)"
done
echo "  keyring: viable backends as in Python ($(tr '\n' ' ' <"$OUT/kr-bundle")), every entry-point backend bundled"

# The app, offscreen: to the main window and straight back out (SEGDESK_QUIT_AFTER_MS).
export QT_QPA_PLATFORM=offscreen
best=999999
for _ in 1 2 3; do
    t0=$(ms)
    SEGDESK_QUIT_AFTER_MS=0 timeout 60 "$BIN" --workspace "$WS" app || fail "the app did not open and close"
    t=$(( $(ms) - t0 ))
    (( t < best )) && best=$t
done
echo "  start-up to the main window and out (offscreen, warm, best of 3): ${best} ms"
SEGDESK_QUIT_AFTER_MS=0 timeout 60 "$BIN" --workspace "$WS" || fail "plain 'segdesk' did not open the app"
[[ $(env -u QT_QPA_PLATFORM -u DISPLAY -u WAYLAND_DISPLAY "$BIN" | head -1) == usage:* ]] \
    || fail "without a display plain 'segdesk' should print help"
echo "  plain 'segdesk' opens the app with a display and prints help without one"

# The PDF report: Qt's PDF writer, pyqtgraph's charts and the fonts, from the bundle.
"$BIN" --workspace "$WS" export pdf "$OUT/report.pdf" --json >"$OUT/pdf.json" 2>"$OUT/pdf.err" \
    || { cat "$OUT/pdf.err" >&2; fail "export pdf"; }
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["pages"] >= 1, d' "$OUT/pdf.json" || fail "export pdf --json"
[[ $(head -c 5 "$OUT/report.pdf") == "%PDF-" ]] || fail "export pdf wrote no PDF"
echo "  export pdf: $(du -h "$OUT/report.pdf" | cut -f1), charts and tables"

# `segdesk demo` starts its relay and trickle as `sys.executable -m ...`: the bundle answers that.
SEGDESK_QUIT_AFTER_MS=2000 timeout 90 "$BIN" --workspace "$OUT/live" demo --contacts 20 >"$OUT/live.log" 2>&1 \
    || { cat "$OUT/live.log" >&2; fail "segdesk demo (live relay) failed"; }
grep -q "Demo relay on http" "$OUT/live.log" || { cat "$OUT/live.log" >&2; fail "the demo relay did not start"; }
echo "  segdesk demo: the app with a live local relay and trickle, all from the bundle"
echo "check_bundle: OK"
