"""Where API keys live: the OS keychain (keyring), or an encrypted file by explicit choice.

The workspace stores only a reference (``sources.secret_ref``):
``keyring:<user>`` is an entry of service ``segdesk`` in whatever backend
keyring selects (``PYTHON_KEYRING_BACKEND`` included); ``file:<user>`` is an
entry of ``secrets.enc.json`` in the workspace folder, each value a Fernet
token under a key derived with scrypt from a passphrase
(``SEGDESK_SECRETS_PASSPHRASE`` or a prompt). When no usable keychain exists
we refuse rather than fall back: a silent plain-text store is the trap
STYLE.md warns about.

The app has no terminal to prompt on: it asks in a dialog and calls
:func:`unlock`, which checks the passphrase and keeps it in this process's
memory (never on disk) until :func:`forget`, like an ssh agent for one session.
"""

from __future__ import annotations

import base64
import getpass
import json
import os
import secrets as _random
import sys
import uuid
from pathlib import Path

import keyring
import keyring.errors
from keyring.backends import chainer, fail, null

from ..core.private import open_private
from ..errors import SecretError  # noqa: F401  (re-exported)

SERVICE = "segdesk"
PASSPHRASE_ENV = "SEGDESK_SECRETS_PASSPHRASE"
FILE_NAME = "secrets.enc.json"
STORES = ("keyring", "encrypted-file")
# scrypt cost: ~0.1 s per unlock on a laptop; the file is opened once per sync.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


_UNLOCKED: dict[Path, str] = {}  # secrets file -> passphrase, for this process only (see unlock)


def _file(workspace: Path) -> Path:
    return (Path(workspace) / FILE_NAME).resolve()


def has_file(workspace: Path) -> bool:
    """Whether the workspace has an encrypted secrets file already (unlocking it checks the passphrase)."""
    return _file(workspace).exists()


def unlock(workspace: Path, passphrase: str) -> None:
    """Check ``passphrase`` against the workspace's secrets file (if any) and remember it for this process."""
    if not passphrase:
        raise SecretError("empty passphrase")
    path = _file(workspace)
    if path.exists():
        EncryptedFile(path, passphrase)._open(create=False)
    _UNLOCKED[path] = passphrase


def is_unlocked(workspace: Path) -> bool:
    return _file(workspace) in _UNLOCKED or bool(os.environ.get(PASSPHRASE_ENV))


def forget(workspace: Path) -> None:
    _UNLOCKED.pop(_file(workspace), None)


def keyring_problem() -> str | None:
    """Why the selected keyring backend cannot keep secrets, or None when it can."""
    backend = keyring.get_keyring()
    if isinstance(backend, (fail.Keyring, null.Keyring)) or (
        isinstance(backend, chainer.ChainerBackend) and not backend.backends
    ):
        return (f"no usable OS keychain (keyring backend: {type(backend).__module__}.{type(backend).__name__}); "
                "install one or choose --secret-store encrypted-file")
    return None


def store_secret(workspace: Path, source_name: str, value: str, store: str = "keyring") -> str:
    """Keep ``value`` and return the reference to put in the workspace."""
    if not value:
        raise SecretError("the secret is empty")
    user = f"{source_name}-{uuid.uuid4().hex[:12]}"
    if store == "keyring":
        problem = keyring_problem()
        if problem:
            raise SecretError(problem)
        try:
            keyring.set_password(SERVICE, user, value)
        except keyring.errors.KeyringError as exc:
            raise SecretError(f"the keychain refused to store the secret: {exc}") from None
        return f"keyring:{user}"
    if store == "encrypted-file":
        EncryptedFile(workspace / FILE_NAME).put(user, value)
        return f"file:{user}"
    raise SecretError(f"unknown secret store '{store}' (choose {' or '.join(STORES)})")


def load_secret(workspace: Path, ref: str) -> str:
    kind, _, user = ref.partition(":")
    if kind == "keyring":
        problem = keyring_problem()
        if problem:
            raise SecretError(problem)
        try:
            value = keyring.get_password(SERVICE, user)
        except keyring.errors.KeyringError as exc:
            raise SecretError(f"the keychain refused to give the secret: {exc}") from None
        if value is None:
            raise SecretError(f"the keychain has no secret '{user}' (add the source again)")
        return value
    if kind == "file":
        return EncryptedFile(workspace / FILE_NAME).get(user)
    raise SecretError(f"unknown secret reference '{ref}'")


def update_secret(workspace: Path, ref: str, value: str) -> None:
    """Replace the value behind ``ref`` (a rotated OAuth refresh token must outlive this run)."""
    kind, _, user = ref.partition(":")
    if kind == "keyring":
        try:
            keyring.set_password(SERVICE, user, value)
        except keyring.errors.KeyringError as exc:
            raise SecretError(f"the keychain refused to store the secret: {exc}") from None
    elif kind == "file":
        EncryptedFile(workspace / FILE_NAME).put(user, value)
    else:
        raise SecretError(f"unknown secret reference '{ref}'")


def delete_secret(workspace: Path, ref: str) -> None:
    kind, _, user = ref.partition(":")
    if kind == "keyring" and not keyring_problem():
        try:
            keyring.delete_password(SERVICE, user)
        except keyring.errors.PasswordDeleteError:
            pass
    elif kind == "file":
        EncryptedFile(workspace / FILE_NAME).delete(user)


def read_secret(env_var: str | None, prompt: str) -> str:
    """The secret from the named environment variable, else a no-echo prompt (never argv)."""
    if env_var:
        value = os.environ.get(env_var, "").strip()
        if not value:
            raise SecretError(f"environment variable {env_var} is not set or empty")
        return value
    try:
        value = getpass.getpass(prompt).strip()
    except (EOFError, KeyboardInterrupt):
        value = ""
    if not value:
        raise SecretError("no secret given (use --secret-env VAR or type it at the prompt)")
    return value


def _passphrase(confirm: bool, path: Path | None = None) -> str:
    value = _UNLOCKED.get(path.resolve()) if path is not None else None
    value = value or os.environ.get(PASSPHRASE_ENV)
    if value:
        return value
    if not sys.stdin.isatty():
        raise SecretError(f"the secrets file is locked: unlock it with its passphrase (or set {PASSPHRASE_ENV})")
    value = getpass.getpass("Passphrase for SegDesk's secrets file: ")
    if confirm and getpass.getpass("Again: ") != value:
        raise SecretError("the passphrases differ")
    if not value:
        raise SecretError("empty passphrase")
    return value


class EncryptedFile:
    """A JSON file of Fernet tokens; the key comes from scrypt(passphrase, salt)."""

    def __init__(self, path: Path, passphrase: str | None = None) -> None:
        self.path = path
        self.passphrase = passphrase  # None: the unlocked one, the environment, or a prompt

    def _load(self) -> dict | None:
        if not self.path.exists():
            return None
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SecretError(f"cannot read {self.path}: {exc}") from None

    @staticmethod
    def _fernet(passphrase: str, data: dict):
        from cryptography.fernet import Fernet
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

        kdf = Scrypt(salt=base64.b64decode(data["salt"]), length=32, n=data["n"], r=data["r"], p=data["p"])
        return Fernet(base64.urlsafe_b64encode(kdf.derive(passphrase.encode())))

    def _open(self, create: bool):
        from cryptography.fernet import InvalidToken

        data = self._load()
        if data is None:
            if not create:
                raise SecretError(f"no secrets file at {self.path}")
            data = {"version": 1, "kdf": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
                    "salt": base64.b64encode(_random.token_bytes(16)).decode(), "entries": {}}
            fernet = self._fernet(self.passphrase or _passphrase(True, self.path), data)
            data["check"] = fernet.encrypt(b"segdesk").decode()
            return data, fernet
        fernet = self._fernet(self.passphrase or _passphrase(False, self.path), data)
        try:
            fernet.decrypt(data["check"].encode())
        except InvalidToken:
            raise SecretError("wrong passphrase for the secrets file") from None
        return data, fernet

    def _save(self, data: dict) -> None:
        tmp = self.path.with_suffix(".tmp")
        # Owner-only whatever the umask, even over a stale .tmp with wider modes.
        with open_private(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, self.path)

    def put(self, user: str, value: str) -> None:
        data, fernet = self._open(create=True)
        data["entries"][user] = fernet.encrypt(value.encode()).decode()
        self._save(data)

    def get(self, user: str) -> str:
        data, fernet = self._open(create=False)
        token = data["entries"].get(user)
        if token is None:
            raise SecretError(f"the secrets file has no secret '{user}' (add the source again)")
        return fernet.decrypt(token.encode()).decode()

    def delete(self, user: str) -> None:
        data = self._load()
        if data and data["entries"].pop(user, None) is not None:
            self._save(data)
