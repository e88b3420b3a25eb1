"""HTTP done once: every connector's client, retries, rate limits and error lines.

One :class:`ApiClient` per connector run wraps one ``httpx.Client`` with
explicit timeouts. Retries are a small loop rather than a library: the rules
(honour ``Retry-After`` in seconds or as an HTTP date, pause on vendors'
"remaining: 0" headers, full-jitter exponential backoff otherwise) fit in a
screen, and tests replace ``sleep`` so nothing waits for real.

A rejected key is not retried: it becomes :class:`AuthError` whose message is
the one line the user sees ("Stripe rejected the API key: Invalid API Key
provided"). A 403 is a different complaint: the key is fine but lacks a scope
or permission, so it becomes :class:`PermissionDenied`, worded by the
connector (which knows where its vendor names the missing permission).

A 429 without ``Retry-After`` (Kit's is the plain text "Retry later" and
nothing else: https://developers.kit.com/api-reference/rate-limits) waits for
the vendor's documented limit window, doubling on each further 429, so a
client that hit a per-minute limit outlasts the minute instead of giving up
after a few seconds of short backoffs.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx
import orjson

from ..core.progress import Cancelled
from ..errors import ApiError, AuthError, PermissionDenied, RateLimited, VendorError  # noqa: F401  (re-exported)

RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504, 520, 522, 524})
RETRY_ERRORS = (httpx.TimeoutException, httpx.ConnectError, httpx.ReadError,
                httpx.WriteError, httpx.RemoteProtocolError)
# A vendor that does not answer is reported within seconds (issue 16), not the half minute that three
# tries of 10 s took: 3 s to connect; 5 s for the first byte of the answer and again between any two
# reads (a big page that keeps arriving is never cut, however long it takes in all); a timed-out
# request is tried once more, and all its silent tries together stop at SILENT_LIMIT seconds.
DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=3.0)
TIMEOUT_ATTEMPTS = 2
SILENT_LIMIT = 12.0
CANCEL_POLL = 0.1  # how often a request waiting on the network looks at the cancel flag
MAX_WAIT = 120.0  # never sleep longer than this for one retry, whatever a header says


@dataclass
class RateLimit:
    """At most ``calls`` requests in any ``per`` seconds (a sliding window)."""

    calls: int
    per: float


@dataclass
class HttpOptions:
    """What tests and benchmarks inject: a transport per vendor, a fake sleep, fewer attempts."""

    transports: dict[str, httpx.BaseTransport] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    max_attempts: int = 6
    timeout_attempts: int = TIMEOUT_ATTEMPTS
    backoff_base: float = 0.5
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    silent_limit: float = SILENT_LIMIT  # seconds a request may go unanswered over all its tries


    def transport_for(self, kind: str) -> httpx.BaseTransport | None:
        return self.transports.get(kind) or self.transports.get("*")


class _Window:
    """Client-side limits: every RateLimit given holds at once (e.g. Keap's per second AND per minute)."""

    def __init__(self, limits: RateLimit | tuple[RateLimit, ...] | None, clock, sleep) -> None:
        self.limits = (limits,) if isinstance(limits, RateLimit) else tuple(limits or ())
        self.clock, self.sleep = clock, sleep
        self.times: deque[float] = deque()
        self.paused_until = 0.0

    def wait(self) -> None:
        now = self.clock()
        if self.paused_until > now:
            self.sleep(self.paused_until - now)
            now = self.clock()
        if not self.limits:
            return
        longest = max(limit.per for limit in self.limits)
        while self.times and now - self.times[0] >= longest:
            self.times.popleft()
        for limit in self.limits:
            recent = [t for t in self.times if now - t < limit.per]
            if len(recent) >= limit.calls:
                self.sleep(limit.per - (now - recent[-limit.calls]))
                now = self.clock()
        self.times.append(now)


def retry_after(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (``Retry-After`` as seconds or HTTP date)."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def quota_pause(response: httpx.Response) -> float:
    """Pause asked for by vendors' remaining-quota headers when the quota is used up."""
    h = response.headers
    # RateLimit-*: the IETF draft names Klaviyo sends (its steady window: seconds left in Reset).
    # X-Rate-Limit-*: Ontraport's spelling (Reset in seconds left of its rolling minute).
    remaining = (h.get("x-hubspot-ratelimit-remaining") or h.get("x-ratelimit-remaining")
                 or h.get("x-rate-limit-remaining") or h.get("ratelimit-remaining"))
    if remaining is None or remaining.strip() not in ("0", "0.0"):
        return 0.0
    interval_ms = h.get("x-hubspot-ratelimit-interval-milliseconds")
    if interval_ms and interval_ms.isdigit():
        return int(interval_ms) / 1000
    reset = h.get("x-ratelimit-reset") or h.get("x-rate-limit-reset") or h.get("ratelimit-reset")
    try:
        seconds = float(reset) if reset else 1.0
    except ValueError:
        return 1.0
    # Some vendors send an epoch time, others seconds left.
    return max(0.0, seconds - time.time()) if seconds > 1e9 else seconds


def error_text(response: httpx.Response) -> str:
    """The vendor's own error message, whatever shape its error body has."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        text = response.text.strip().splitlines()
        return text[0][:200] if text else response.reason_phrase
    return _message_in(body) or response.reason_phrase


def _message_in(body) -> str | None:
    if isinstance(body, str):
        return body[:300]
    if isinstance(body, list):
        return _message_in(body[0]) if body else None
    if not isinstance(body, dict):
        return None
    for key in ("message", "error_description", "faultstring", "detail", "title", "error", "errors", "fault"):
        if key in body and body[key]:
            found = _message_in(body[key])
            if found:
                return found
    return None


class ApiClient:
    """One vendor's HTTP client: base URL, auth headers, retries, rate limit, error lines."""

    def __init__(self, vendor: str, base_url: str, *, kind: str, headers: dict | None = None,
                 rate: RateLimit | tuple[RateLimit, ...] | None = None, options: HttpOptions | None = None,
                 auth_words: str = "the API key", window: float = 1.0,
                 forbidden: Callable[[httpx.Response], str | None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> None:
        """``window``: seconds after which the vendor's documented rate limit has reset (what a 429
        without Retry-After waits). ``forbidden(response)``: the one line for a 403, naming the
        missing permission where the vendor says it; None means the 403 is how this vendor rejects a key.
        ``cancelled()``: true once the user cancelled; a request waiting on the network, and every
        backoff, gives up within ``CANCEL_POLL`` seconds and raises :class:`Cancelled`."""
        self.vendor, self.kind, self.auth_words = vendor, kind, auth_words
        self.cancelled = cancelled or (lambda: False)
        self.window_seconds, self.forbidden = window, forbidden
        self.options = options or HttpOptions()
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers or {}, timeout=self.options.timeout,
            transport=self.options.transport_for(kind), follow_redirects=False,
        )
        self.window = _Window(rate, self.options.clock, self._sleep)
        self.requests = 0
        self.retries = 0
        self.waits: list[float] = []  # every backoff this client computed, for the report and tests

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "ApiClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def request(self, method: str, url: str, *, allow: tuple[int, ...] = (), **kwargs) -> httpx.Response:
        """``allow``: error statuses the caller reads itself (e.g. PayPal's RESULTSET_TOO_LARGE 400)."""
        opts = self.options
        throttled = timeouts = 0
        silent_since: float | None = None  # when the tries that got no answer began
        for attempt in range(1, opts.max_attempts + 1):
            self.window.wait()
            self.requests += 1
            if silent_since is None:
                silent_since = opts.clock()
            try:
                response = self._send(method, url, timeout=self._timeout_left(silent_since), **kwargs)
            except RETRY_ERRORS as exc:
                timeouts += isinstance(exc, httpx.TimeoutException)
                if (attempt == opts.max_attempts or timeouts >= opts.timeout_attempts
                        or opts.clock() - silent_since >= opts.silent_limit - 0.5):
                    raise ApiError(self._unanswered(exc, attempt)) from None
                self._backoff(attempt, None)
                continue
            except httpx.HTTPError as exc:
                raise ApiError(f"{self.vendor}: {_describe(exc)}") from None
            silent_since = None  # it answered: a later retry has the whole limit again
            status = response.status_code
            if status < 400 or status in allow:
                pause = quota_pause(response)
                if pause:
                    self.window.paused_until = self.options.clock() + min(pause, MAX_WAIT)
                return response
            if status == 403:
                raise self._denied(response)
            if status == 401:
                raise AuthError(f"{self.vendor} rejected {self.auth_words}: {error_text(response)}")
            if status in RETRY_STATUS and attempt < opts.max_attempts:
                asked = retry_after(response) or (quota_pause(response) or None)
                if status == 429:
                    throttled += 1
                    if asked is None:
                        # No hint: outlast the documented window, doubling while it keeps refusing.
                        asked = self.window_seconds * 2 ** (throttled - 1)
                self._backoff(attempt, asked)
                continue
            error = RateLimited if status == 429 else VendorError  # a 429 here: still refused after every wait
            raise error(f"{self.vendor} answered {status} for {_path(response)}: {error_text(response)}")
        raise AssertionError("unreachable: the loop returns or raises")

    def _timeout_left(self, since: float) -> httpx.Timeout:
        """The client's timeouts, cut to what is left of ``silent_limit`` since ``since``: a retry of a
        silent vendor never stretches the wait past the limit."""
        t = self.client.timeout
        left = max(0.5, self.options.silent_limit - (self.options.clock() - since))

        def cut(v: float | None) -> float:
            return left if v is None else min(v, left)

        return httpx.Timeout(connect=cut(t.connect), read=cut(t.read), write=cut(t.write), pool=cut(t.pool))

    def _send(self, method: str, url: str, **kwargs) -> httpx.Response:
        """The request, on a helper thread while this one watches the cancel flag.

        A read that hangs blocks inside the socket, where no flag is seen; waiting
        beside it instead lets Cancel return at once. The abandoned request ends by
        its own read timeout (the client is closed when the sync ends).
        """
        if self.cancelled():
            raise Cancelled("cancelled")
        box: dict = {}
        done = threading.Event()

        def run() -> None:
            try:
                box["response"] = self.client.request(method, url, **kwargs)
            except BaseException as exc:  # handed to the caller's thread below
                box["error"] = exc
            done.set()

        threading.Thread(target=run, name=f"{self.kind}-request", daemon=True).start()
        while not done.wait(CANCEL_POLL):
            if self.cancelled():
                raise Cancelled("cancelled")
        if "error" in box:
            raise box["error"]
        return box["response"]

    def _sleep(self, seconds: float) -> None:
        """``options.sleep``, in short steps when it is the real one, so a cancel ends a backoff too."""
        if self.options.sleep is not time.sleep:
            self.options.sleep(seconds)
            return
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self.cancelled():
                raise Cancelled("cancelled")
            time.sleep(min(left, CANCEL_POLL))

    def _unanswered(self, exc: Exception, tries: int) -> str:
        """What the user reads when the vendor could not be reached: plain words, no exception names."""
        host = self.client.base_url.host or "its server"
        timeout = self.client.timeout
        times = "once" if tries == 1 else "twice" if tries == 2 else f"{tries} times"
        if isinstance(exc, httpx.ConnectTimeout):
            what = f"could not connect to {host} within {_seconds(timeout.connect)}"
        elif isinstance(exc, httpx.TimeoutException):
            what = f"did not answer within {_seconds(timeout.read)}"
        elif isinstance(exc, httpx.ConnectError) and "certificate" in str(exc).lower():
            # Certificates are always verified (no opt-out): say so, not "no connection".
            what = f"at {host} showed a certificate that could not be verified (not trusted, expired or for another name)"
        elif isinstance(exc, httpx.ConnectError):
            what = f"could not be reached at {host} (no connection)"
        else:
            what = "broke off the connection"
        return f"{self.vendor} {what} (tried {times})"

    def _denied(self, response: httpx.Response) -> ApiError:
        if self.forbidden is None:
            return PermissionDenied(f"{self.vendor} refused {_path(response)}: {self.auth_words} lacks a permission "
                                    f"it needs ({error_text(response)})")
        line = self.forbidden(response)
        if line is None:
            return AuthError(f"{self.vendor} rejected {self.auth_words}: {error_text(response)}")
        return PermissionDenied(line)

    def _backoff(self, attempt: int, asked: float | None) -> None:
        self.retries += 1
        # Full jitter (AWS's "exponential backoff and jitter"): spreads clients apart.
        delay = random.uniform(0, self.options.backoff_base * 2 ** (attempt - 1))
        if asked is not None:
            delay = max(delay, asked)
        delay = min(delay, MAX_WAIT)
        self.waits.append(delay)
        self._sleep(delay)

    def get_json(self, url: str, **kwargs):
        return self.json(self.request("GET", url, **kwargs))

    def post_json(self, url: str, **kwargs):
        return self.json(self.request("POST", url, **kwargs))

    def json(self, response: httpx.Response):
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise VendorError(f"{self.vendor} sent a response that is not JSON ({_path(response)})") from None


def _seconds(value: float | None) -> str:
    return "the time allowed" if value is None else f"{value:g} second{'' if value == 1 else 's'}"


def _path(response: httpx.Response) -> str:
    return response.request.url.path if response.request else "?"


def _describe(exc: Exception) -> str:
    name = type(exc).__name__
    text = str(exc).strip()
    return f"{name}: {text}" if text else name
