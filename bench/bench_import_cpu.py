"""One events file imported into a fresh workspace: wall, the importing process's CPU and the
parsing processes' CPU, and the file's bytes per event. Run it with each tree on PYTHONPATH to
compare two versions under the same load (bench/RESULTS.md, issue 20):

    PYTHONPATH=OTHER_TREE python bench/bench_import_cpu.py bench/out/1000000-200000-50000-11/events.jsonl /tmp/ws before
    PYTHONPATH=. python bench/bench_import_cpu.py bench/out/1000000-200000-50000-11/events.jsonl /tmp/ws now
"""

import resource
import shutil
import sys
import time
from pathlib import Path
def main():
    from segdesk.core.importing.events import import_events_file
    from segdesk.core.store import open_workspace
    out = Path(sys.argv[2]); shutil.rmtree(out, ignore_errors=True)
    ws = open_workspace(out)
    w, c = time.perf_counter(), time.process_time()
    with open(sys.argv[1], "rb") as f:
        r = import_events_file(ws, f)
    w, c = time.perf_counter() - w, time.process_time() - c
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    ws.close()
    size = (out / "segdesk.sqlite").stat().st_size
    print(f"{sys.argv[3]}: {r.imported} events, wall {w:.1f} s, main CPU {c:.1f} s, parsers CPU {ch.ru_utime + ch.ru_stime:.1f} s, file {size / r.imported:.0f} B/event")
    shutil.rmtree(out, ignore_errors=True)
if __name__ == "__main__":
    main()
