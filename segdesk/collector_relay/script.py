"""Serving the pixel script (static/p.js) with revalidation and gzip.

The file is re-read only when its size or modification time changes, so a
new pixel build is picked up without a restart and a hit costs one stat().
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from segdesk.collector_relay.web import json_response

STATIC = Path(__file__).resolve().parent / "static"
MEDIA_TYPE = "text/javascript; charset=utf-8"
# Browsers keep the script an hour, then revalidate cheaply with the ETag.
CACHE_CONTROL = "public, max-age=3600"


# The pixel's switch for credentialed calls (its sd_vid cookie and the visitor-id
# restore), turned off for a relay without configured site origins: such a relay
# answers `*`, and browsers refuse `*` to a credentialed call with a console error.
CREDENTIALS_ON = b"const RELAY_CREDENTIALS = 1;"
CREDENTIALS_OFF = b"const RELAY_CREDENTIALS = 0;"


class PixelScript:
    def __init__(self, path: Path = STATIC / "p.js", credentials: bool = True) -> None:
        self.path = path
        self.credentials = credentials
        self._key: tuple | None = None
        self._plain = self._gzipped = b""
        self._etag = ""

    def _load(self) -> bool:
        try:
            info = os.stat(self.path)
        except OSError:
            return False
        key = (info.st_size, info.st_mtime_ns)
        if key != self._key:
            data = self.path.read_bytes()
            if not self.credentials:
                data = data.replace(CREDENTIALS_ON, CREDENTIALS_OFF)
            self._plain = data
            self._gzipped = gzip.compress(data, 9, mtime=0)
            self._etag = '"' + hashlib.sha256(data).hexdigest()[:20] + '"'
            self._key = key
        return True

    async def serve(self, request: Request) -> Response:
        if not self._load():
            return json_response(
                {"success": False, "error": "the pixel script is not built in this install "
                                             "(segdesk/collector_relay/static/p.js is missing)"},
                404)
        headers = {
            "ETag": self._etag,
            "Cache-Control": CACHE_CONTROL,
            "Vary": "Accept-Encoding",
            # Any site may load the script; it carries no secret.
            "Access-Control-Allow-Origin": "*",
        }
        if self._etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        body = self._plain
        if "gzip" in request.headers.get("accept-encoding", ""):
            body = self._gzipped
            headers["Content-Encoding"] = "gzip"
        return Response(body, headers=headers, media_type=MEDIA_TYPE)
