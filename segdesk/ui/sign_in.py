"""The Add-source dialog's "Sign in" for Google Ads and Microsoft Advertising.

The installed-app flow (sync/connectors/oauth_loopback.py) in the app: the
loopback listener starts and the browser opens here, on the GUI thread
(QDesktopServices; the listener is already up, so the redirect cannot arrive
before it), and the wait for the redirect plus the code exchange run as a
network job (``ctx.fetch``), so the window stays responsive for the minutes a
person may take to sign in. The button turns into "Cancel sign-in" meanwhile;
cancelling, or closing the dialog, stops the wait within a fraction of a
second and closes the listener. The grant with its refresh token stays in
this widget until the dialog saves it to the keychain (or the encrypted
file): nothing is stored before the user presses Add.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from ..sync import sources as sync_sources


def _open_in_browser(url: str) -> None:
    QDesktopServices.openUrl(QUrl(url))


class SignInRow(QWidget):
    """A "Sign in" button and what it is doing; ``grant`` holds the signed-in grant once it succeeded."""

    signedIn = Signal(object)  # the grant with its refresh_token
    failed = Signal(str)  # one line

    def __init__(self, fetch: Callable | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.fetch = fetch  # AppContext.fetch: fn(write, progress) on a network thread
        self.open_url: Callable[[str], object] = _open_in_browser  # tests stand a browser in here
        self.http_options = None  # tests route the token endpoint to a fake
        self.button = QPushButton("Sign in")
        self.button.setEnabled(fetch is not None)
        self.status = QLabel()
        self.status.setObjectName("muted")
        self.status.setWordWrap(True)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.button)
        lay.addWidget(self.status, 1)
        self.job = None
        self.grant: dict | None = None

    def running(self) -> bool:
        return self.job is not None and not self.job.done

    def reset(self) -> None:
        """Another kind or other credentials: a sign-in done for the old ones no longer counts."""
        self.cancel()
        self.grant = None
        self.status.clear()

    def start(self, kind: str, grant: dict) -> None:
        """Open the consent page for ``grant``'s OAuth client and wait for the answer off the GUI thread."""
        from ..sync.connectors import SIGN_IN  # httpx and the connectors load on first use, not at start
        from ..sync.connectors.oauth_loopback import LoopbackSignIn

        vendor = sync_sources.KINDS[kind][0]
        flow = LoopbackSignIn(SIGN_IN[kind].PROVIDER, grant["client_id"], grant.get("client_secret"))
        options = self.http_options
        self.grant = None
        self.job = job = self.fetch(lambda _write, progress: flow.finish(options=options,
                                                                        cancelled=progress.cancelled),
                                    f"{vendor} sign-in")
        job.finished.connect(lambda tokens: self._done({**grant, "refresh_token": tokens["refresh_token"]}, vendor))
        job.failed.connect(self._failed)
        job.cancelled.connect(lambda: (flow.close(), self._idle("Sign-in cancelled.")))
        self.button.setText("Cancel sign-in")
        self.status.setText(f"Waiting for {vendor} in your browser… (if no page opened, visit {flow.url})")
        self.open_url(flow.url)

    def cancel(self) -> None:
        if self.running():
            self.job.cancel()

    def _done(self, grant: dict, vendor: str) -> None:
        self.grant = grant
        self._idle(f"Signed in to {vendor}. Press Add to keep the refresh token.")
        self.signedIn.emit(grant)

    def _failed(self, reason: str) -> None:
        self._idle("")
        self.failed.emit(reason)

    def _idle(self, text: str) -> None:
        self.button.setText("Sign in again" if self.grant else "Sign in")
        self.status.setText(text)
