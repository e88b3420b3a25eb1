"""One error tree (segdesk/errors.py): every class documented and drawn in the tree, every
exception class that reaches a person a SegDeskError, and the command line turning each into
one line on stderr with exit status 1.
"""

from __future__ import annotations

import ast
import functools
import importlib
import pkgutil
import re
import zipfile
from pathlib import Path

import pytest

import segdesk
from segdesk import errors
from segdesk.cli import main
from segdesk.core import demo
from segdesk.core.importing import events, parallel_import
from segdesk.errors import SegDeskError

from .core import import_faults

PACKAGE = Path(segdesk.__file__).parent
# Exception classes under segdesk/ that never reach a person, and why.
NOT_IN_THE_TREE = {
    "segdesk.errors.Cancelled": "not an error: a job stopped on request",
    "segdesk.core.importing.parallel_import.WorkerFailed": "raised and caught in the parent process; becomes ImportFailed",
    "segdesk.collector_relay.web.HTTPError": "a relay HTTP answer (4xx with a reason), never a line for the operator",
    "segdesk.collector_relay.events.Invalid": "a rejected event in a relay request; becomes a 400",
    "segdesk.core.importing.csv_read.CellError": "one CSV cell; becomes a row of CsvImportError",
    "segdesk.core.importing.csv_read.LineError": "one CSV line; becomes a row of CsvImportError",
    "segdesk.collector_relay.buffer.BufferUnavailable": "the relay's store is away for a moment; becomes a 503",
}


def _modules():
    for info in pkgutil.walk_packages([str(PACKAGE)], "segdesk."):
        if info.name.endswith("__main__") and info.name != "segdesk.collector_relay.__main__":
            continue
        yield importlib.import_module(info.name)


def _tree(cls=SegDeskError):
    for sub in cls.__subclasses__():
        yield sub
        yield from _tree(sub)


def test_every_error_class_says_when_it_is_raised_and_is_drawn_in_the_tree():
    list(_modules())  # the leaves declared next to what they carry are loaded too
    drawn = errors.__doc__
    classes = [SegDeskError, *_tree()]
    assert len(classes) >= 15
    for cls in classes:
        assert cls.__module__.startswith("segdesk.") and "__doc__" in cls.__dict__ and cls.__doc__.strip(), cls
        assert re.search(rf"[\s─]{cls.__name__}\s", drawn), f"{cls.__name__} is missing from the tree in segdesk/errors.py"
    names = [cls.__name__ for cls in classes]
    assert len(names) == len(set(names)), "one name, one class"
    # Old names still import from where callers found them, as the same classes.
    from segdesk.core.progress import Cancelled
    from segdesk.core.store import WorkspaceError
    from segdesk.sync.http import ApiError, AuthError, PermissionDenied
    from segdesk.sync.secrets import SecretError

    assert (WorkspaceError, ApiError, AuthError, PermissionDenied, SecretError, Cancelled) == (
        errors.WorkspaceError, errors.ApiError, errors.AuthError, errors.PermissionDenied, errors.SecretError,
        errors.Cancelled)


def test_every_exception_class_in_segdesk_is_in_the_tree_or_says_why_not():
    found = set()
    for module in _modules():
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == module.__name__:
                found.add(value)
    outside = {f"{c.__module__}.{c.__qualname__}" for c in found if not issubclass(c, SegDeskError)}
    assert {"segdesk.errors.Cancelled", "segdesk.collector_relay.web.HTTPError"} <= outside  # the walk sees them
    assert outside <= set(NOT_IN_THE_TREE), "subclass the class in segdesk/errors.py that says what happened"


def test_the_error_tree_imports_only_the_standard_library():
    tree = ast.parse((PACKAGE / "errors.py").read_text(encoding="utf-8"))
    imported = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert [ast.unparse(n) for n in imported] == ["from __future__ import annotations"]


def test_the_relay_wheel_ships_the_error_tree_and_its_errors_work_from_it(tmp_path):
    """The relay-only wheel (relay deploy, the Dockerfile) has errors.py, and only that of the rest."""
    import subprocess
    import sys

    from segdesk.collector_relay.wheel import build_wheel

    wheel = build_wheel(tmp_path / "dist")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        zf.extractall(tmp_path / "site")
    assert {n for n in names if n.startswith("segdesk/") and "/collector_relay/" not in n} == {
        "segdesk/__init__.py", "segdesk/errors.py"}
    # The relay's modules import from the unpacked wheel alone; a bad data folder is its one line.
    code = ("import sys; from segdesk.collector_relay.__main__ import main; "
            "import segdesk; assert segdesk.__file__.startswith(sys.argv[1]), segdesk.__file__; "
            "sys.exit(main(['serve', '--data', sys.argv[2]]))")
    done = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, sys.argv[1]); {code}",
                           str(tmp_path / "site"), str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("segdesk-relay: ") and "Traceback" not in done.stderr


# --- the command line: one line on stderr, exit 1 ------------------------------------------

@pytest.fixture
def cli(tmp_path, capsys):
    def run(*argv) -> tuple[int, str, str]:
        code = main(["--workspace", str(tmp_path / "ws"), *argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    run("import", "contacts", str(_write(tmp_path / "c.csv", "email\nann@example.com\n")))
    return run


def _write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def _one_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("segdesk: ") and "Traceback" not in err, err
    return err[len("segdesk: "):-1]


def test_no_such_contact_is_one_line(cli):
    code, _, err = cli("journey", "nobody@example.com")
    assert (code, _one_line(err)) == (1, "no contact with email nobody@example.com")
    code, _, err = cli("merge", "ann@example.com", "bob@example.com")
    assert (code, _one_line(err)) == (1, "no contact with email bob@example.com")


def test_a_bad_date_or_timezone_is_one_line(cli):
    code, out, err = cli("report", "summary", "--since", "2026-13-45")
    assert (code, out, _one_line(err)) == (1, "", "'2026-13-45' is not a date (YYYY-MM-DD) or ISO 8601 time")
    code, _, err = cli("report", "ltv", "--timezone", "Mars/Olympus")
    assert (code, _one_line(err)) == (1, "unknown timezone 'Mars/Olympus' (an IANA name such as Europe/Berlin)")
    code, _, err = cli("sources", "add", "stripe", "--since", "yesterday")
    assert (code, _one_line(err)) == (1, "--since 'yesterday' is not an ISO 8601 date")


def test_an_unreadable_file_is_one_line_naming_it(cli, tmp_path):
    folder = tmp_path / "a-folder.csv"
    folder.mkdir()
    code, _, err = cli("import", "orders", str(folder))
    assert (code, _one_line(err)) == (1, f"cannot read {folder}: Is a directory")
    latin1 = _write(tmp_path / "latin1.csv", "email\nren\xe9@example.com\n".encode("latin-1"))
    code, _, err = cli("import", "contacts", str(latin1))
    assert (code, _one_line(err)) == (1, f"{latin1} is not UTF-8 text")
    code, _, err = cli("import", "events", str(tmp_path / "absent.jsonl"))
    assert (code, _one_line(err)) == (1, f"cannot read {tmp_path / 'absent.jsonl'}: No such file or directory")


def test_nothing_to_sync_is_one_line(cli):
    code, _, err = cli("sync")
    assert code == 1 and _one_line(err).startswith("no sources configured yet; add one with 'segdesk sources add KIND'")


def test_checks_from_other_branches_raise_classes_of_the_tree(cli, tmp_path):
    """https-only addresses, the suppression list, a negative lookback and an unsafe deploy
    setting (written beside this tree, then moved into it) say what happened in one line."""
    code, _, err = cli("sources", "add", "relay", "--base-url", "http://relay.example.com")
    assert (code, _one_line(err)) == (1, "refusing plain http to relay.example.com: the token and data would "
                                         "travel unencrypted; use https:// (or --allow-insecure-http on a private network)")
    code, _, err = cli("suppressions", "lift", "carl@example.com")
    assert (code, _one_line(err)) == (1, "carl@example.com is not on the suppression list")
    from segdesk.collector_relay.deploy import DeployError
    from segdesk.collector_relay.deploy_scripts import write_env_file
    from segdesk.core.identity import suppression
    from segdesk.core.reports import build_report
    from segdesk.core.store import open_workspace

    with open_workspace(tmp_path / "ws") as ws:
        with pytest.raises(errors.InvalidInput, match="^lookback days cannot be negative$"):
            build_report(ws.conn, "attribution", lookback_days=-1)
        with pytest.raises(errors.InvalidInput, match="^'nobody' is not an email address$"):
            suppression.lift(ws.conn, "nobody")
        with pytest.raises(errors.NotFound, match="^no suppression entry 7$"):
            suppression.lift_entry(ws.conn, 7)
    with pytest.raises(DeployError, match="^setting SEGDESK_RELAY_ORIGINS cannot be written safely"):
        write_env_file({"SEGDESK_RELAY_ORIGINS": "https://a.example\nENV"})


def test_a_crashed_import_worker_is_one_line_and_stores_nothing(cli, tmp_path, monkeypatch):
    _, stream = demo.scenario(contacts=40, seed=3)
    import orjson

    path = _write(tmp_path / "events.jsonl", b"\n".join(orjson.dumps(ev) for ev in stream) + b"\n")
    monkeypatch.setattr(events, "BULK_MIN_EVENTS", 1)
    monkeypatch.setattr(events, "PARALLEL_MIN_EVENTS", 1)
    monkeypatch.setattr(events, "BYTES_PER_EVENT_HIGH", 1)
    monkeypatch.setattr(parallel_import, "worker_count", lambda: 2)
    monkeypatch.setattr(parallel_import, "FileFill",
                        functools.partial(parallel_import.FileFill, before_chunk=import_faults.crash_on_chunk_2))
    code, out, err = cli("import", "events", str(path), "--json")
    assert (code, out, _one_line(err)) == (
        1, "", "the import stopped and stored nothing: a parsing process stopped unexpectedly (exit code 3)")
    from segdesk.core.store import open_workspace

    with open_workspace(tmp_path / "ws") as ws:
        assert ws.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    code, out, _ = cli("contacts", "--json")
    assert code == 0 and [c["email"] for c in orjson.loads(out)["contacts"]] == ["ann@example.com"]


# --- a vendor's failure is named by its class -------------------------------------------------

class _Always:
    """A vendor that answers every request with one status (and counts them)."""

    def __init__(self, status: int, body: dict) -> None:
        self.status, self.body, self.calls = status, body, 0

    def handle(self, request):
        import httpx

        self.calls += 1
        return httpx.Response(self.status, json=self.body)


@pytest.mark.parametrize("status, body, cls, line", [
    (429, {"message": "Too many requests"}, errors.RateLimited, "Acme answered 429 for /v1/things: Too many requests"),
    (500, {"message": "internal error"}, errors.VendorError, "Acme answered 500 for /v1/things: internal error"),
    (404, {"error": {"message": "No such thing"}}, errors.VendorError, "Acme answered 404 for /v1/things: No such thing"),
    (401, {"message": "bad key"}, errors.AuthError, "Acme rejected the API key: bad key"),
])
def test_a_vendor_failure_raises_the_class_that_says_what_happened(status, body, cls, line):
    from segdesk.sync.http import ApiClient, HttpOptions

    from .sync.loopback import Loopback

    fake = _Always(status, body)
    with Loopback(fake) as transport:
        options = HttpOptions(transports={"acme": transport}, sleep=lambda s: None, max_attempts=3)
        with ApiClient("Acme", "https://api.acme.example", kind="acme", options=options) as client:
            with pytest.raises(errors.ApiError) as err:
                client.get_json("/v1/things")
    assert (type(err.value), str(err.value)) == (cls, line)
    assert fake.calls == (3 if status in (429, 500) else 1)  # retried where retrying can help
