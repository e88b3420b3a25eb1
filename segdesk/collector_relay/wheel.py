"""Building a relay-only wheel (`segdesk-relay`) from the installed package.

Why not `pip wheel` of the whole project: the project's main dependencies
(Qt, keyring, ...) come along with every extra, so `segdesk[relay]` would put
Qt on a small server; a source checkout is not always at hand (an installed
`segdesk` has none); and an isolated build needs setuptools from the network.
A wheel is a zip with three metadata files, so the relay writes its own from
exactly the files it runs. The Dockerfile uses the same builder.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path

import segdesk

NAME = "segdesk_relay"
# The only dependencies a relay server installs; keep in step with the
# `relay` extra in pyproject.toml.
REQUIRES = ["starlette>=0.37", "uvicorn>=0.30", "orjson>=3.9", "crawlerdetect>=0.4.2"]
# `pip install 'segdesk-relay[postgres]'`: the PostgreSQL buffer's driver
# (the `postgres` extra in pyproject.toml).
POSTGRES = ["psycopg[binary]>=3.2", "psycopg-pool>=3.2"]
PACKAGE = Path(__file__).resolve().parent


def _files() -> list[tuple[str, bytes]]:
    # The package's __init__ and the error tree (stdlib only), which the relay's errors subclass.
    files = [(f"segdesk/{name}", (PACKAGE.parent / name).read_bytes()) for name in ("__init__.py", "errors.py")]
    for path in sorted(PACKAGE.rglob("*")):
        # Python modules and the served scripts; nothing else (build caches,
        # editor files) belongs on a server.
        if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".js"):
            files.append((f"segdesk/collector_relay/{path.relative_to(PACKAGE).as_posix()}",
                          path.read_bytes()))
    return files


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(out_dir: Path | str) -> Path:
    version = segdesk.__version__
    dist_info = f"{NAME}-{version}.dist-info"
    metadata = "\n".join([
        "Metadata-Version: 2.1",
        "Name: segdesk-relay",
        f"Version: {version}",
        "Summary: SegDesk's collector relay: Segment-compatible ingest and a pull API",
        "Requires-Python: >=3.10",
        *[f"Requires-Dist: {req}" for req in REQUIRES],
        "Provides-Extra: postgres",
        *[f'Requires-Dist: {req}; extra == "postgres"' for req in POSTGRES],
        "",
    ]).encode()
    wheel_meta = (b"Wheel-Version: 1.0\nGenerator: segdesk.collector_relay.wheel\n"
                  b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    entry_points = b"[console_scripts]\nsegdesk-relay = segdesk.collector_relay.__main__:main\n"
    files = _files() + [(f"{dist_info}/METADATA", metadata), (f"{dist_info}/WHEEL", wheel_meta),
                        (f"{dist_info}/entry_points.txt", entry_points)]
    record = "\n".join([_record_line(n, d) for n, d in files] + [f"{dist_info}/RECORD,,", ""])
    out = Path(out_dir) / f"{NAME}-{version}-py3-none-any.whl"
    out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files + [(f"{dist_info}/RECORD", record.encode())]:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # reproducible
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    out.write_bytes(buf.getvalue())
    return out


if __name__ == "__main__":
    import sys

    print(build_wheel(sys.argv[1] if len(sys.argv) > 1 else "dist"))
