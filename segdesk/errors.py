"""Every error SegDesk shows a person, in one tree (httpx's ``_exceptions.py`` is the model).

A :class:`SegDeskError`'s ``str()`` is the one line a person reads: what went
wrong and, where it helps, what to do. Core, sync and the relay raise them;
two places catch them, once each: the command line (``segdesk/cli.py`` and the
relay's own ``collector_relay/__main__.py``: the line on stderr, exit 1) and the
app (``ui/workers.py``: the line a job shows). Anything else reaching those
places is a bug: the app says "unexpected error" and logs the traceback, the
command line lets Python print it. An ``OSError`` or ``ValueError`` meant for a
person never crosses a layer: the function that did the I/O or the parsing
raises the class below that says what happened, naming the file or the value.

    SegDeskError
    ├── WorkspaceError          the workspace cannot be opened, created, migrated or written
    │   └── SchemaTooNew        collector_relay/pg_schema.py: the relay's PostgreSQL store is a newer relay's
    ├── NotFound                no such contact, source, configured source, saved view or suppression entry
    ├── InvalidInput            a value, option or file the person gave is wrong
    │   ├── FileError           a file cannot be read or written (name and reason)
    │   ├── CsvImportError      core/importing/csv_import.py: a CSV failed its check; nothing imported
    │   ├── MoneyError          core/money.py: an amount or currency code
    │   ├── EventError          core/importing/event_rows.py: one event line (a reject; the import goes on)
    │   ├── Unreadable          sync/webhooks/delivery.py: one webhook delivery (kept unread; the sync goes on)
    │   └── ConfigError         collector_relay/config.py: the relay's settings
    ├── ProcessFailed           a process SegDesk started stopped or never came up
    │   └── ImportFailed        an import's parsing process crashed; the import stored nothing
    ├── SecretError             a source's secret cannot be stored, found or unlocked
    ├── ApiError                a vendor's API (or a relay) did not answer, or failed
    │   ├── AuthError           the credentials were refused or cannot be used
    │   │   └── PermissionDenied    valid credentials lacking a scope or permission (a 403)
    │   ├── RateLimited         still refused for too many requests after every retry
    │   └── VendorError         an error answer, or one that cannot be used
    └── DeployError             deploying the relay over SSH failed or cannot start (collector_relay/deploy.py)

    Cancelled                   not an error: a job stopped on request; what it stored stays

Failures that become one of the relay's HTTP answers (``collector_relay/web.py``'s
HTTPError, ``events.Invalid``) stay outside the tree: a client reads them as a
status and a reason, not a person as a line.

The leaves that name a module are declared there, next to what they carry
(a CSV's rejected rows, the money and event parsers, the relay's settings),
subclassing a class here; tests/test_errors.py walks the whole tree.
This module imports
nothing of SegDesk and nothing outside the standard library, so every layer
may import it, the relay included (the relay-only wheel ships it).
"""

from __future__ import annotations


class SegDeskError(Exception):
    """A failure a person can act on; ``str()`` is its one line (never a traceback)."""


class WorkspaceError(SegDeskError):
    """The workspace cannot be opened, created, migrated or written (a missing folder, a damaged file, a full disk)."""


class NotFound(SegDeskError):
    """What the person named does not exist: a contact's email, a source's name, any source, a saved view, a suppression entry."""


class InvalidInput(SegDeskError):
    """A value, option or file the person gave is wrong: a bad date, timezone, email, report name, setting."""


class FileError(InvalidInput):
    """A file the person named cannot be read or written; the line names the file and the reason."""


class ProcessFailed(SegDeskError):
    """A process SegDesk started stopped unexpectedly or never came up (the demo's local relay)."""


class ImportFailed(ProcessFailed):
    """A parsing process of a parallel import crashed or failed; the import stored nothing."""


class SecretError(SegDeskError):
    """A source's secret cannot be stored, found or unlocked (keychain, encrypted file, environment)."""


class ApiError(SegDeskError):
    """A vendor's API or a relay failed a sync or an erase; raised as such when it did not answer at all."""


class AuthError(ApiError):
    """The vendor refused the credentials, or they cannot be used: retrying cannot help."""


class PermissionDenied(AuthError):
    """The credentials are valid but lack a scope or permission (a 403)."""


class RateLimited(ApiError):
    """The vendor still answered "too many requests" (429) after every retry and wait."""


class VendorError(ApiError):
    """The vendor answered with an error, or with something that cannot be used (not JSON, no token)."""


class DeployError(SegDeskError):
    """Deploying the relay over SSH failed or cannot start (bad target, no ssh, the server lacks something,
    a setting that cannot be written safely). Here, not in ``collector_relay/deploy.py``: the scripts
    module it imports raises it too."""


class Cancelled(Exception):
    """Not an error: a job noticed a cancel request and stopped; what it committed stays."""

