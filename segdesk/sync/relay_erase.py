"""Erase a person at every configured relay (the remote half of ``segdesk erase``).

The workspace half is core/people.erase; the relay may still buffer events of
the person that were not pulled yet, so each relay gets ``POST /v1/erase``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.identity.identifiers import normalise_email
from ..core.store import Workspace
from ..errors import InvalidInput, SegDeskError
from .http import ApiClient, HttpOptions
from .sources import check_base_url, list_sources, secret_of
from .writer import Write, direct


@dataclass
class RemoteErase:
    erased: dict[str, int] = field(default_factory=dict)  # relay name -> events erased
    failed: dict[str, str] = field(default_factory=dict)  # relay name -> one-line reason

    @property
    def ok(self) -> bool:
        return not self.failed

    def as_dict(self) -> dict:
        return {"erased": self.erased, "failed": self.failed}


def erase_remote(ws: Workspace, email: str, *, options: HttpOptions | None = None,
                 write: Write | None = None) -> RemoteErase:
    """Ask every relay source to drop the person's buffered events; one relay's failure does not stop the rest.

    The list of relays comes through ``write`` (see sync/writer.py); the HTTP
    calls run on the caller's thread.
    """
    normal = normalise_email(email)
    if normal is None:
        raise InvalidInput(f"'{email}' is not an email address")
    relays = (write or direct(ws))(lambda w: [s for s in list_sources(w.conn) if s.kind == "relay"])
    result = RemoteErase()
    for source in relays:
        try:
            check_base_url(source.config)
            token = secret_of(ws, source)
            with ApiClient(source.vendor, source.config["base_url"], kind="relay", options=options,
                           headers={"Authorization": f"Bearer {token}"}, auth_words="the pull token") as client:
                body = client.post_json("/v1/erase", json={"email": normal})
            result.erased[source.name] = int(body.get("erased", 0))
        except SegDeskError as exc:  # one relay's failure (its key, its answer) does not stop the rest
            result.failed[source.name] = str(exc)
    return result
