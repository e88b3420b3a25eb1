"""Secrets and personal data never travel in clear text: a source's --base-url
is https, or plain http only to this computer or with an explicit opt-out;
certificates are always verified."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import ssl
import threading

import orjson
import pytest

from segdesk.cli import main
from segdesk.sync.engine import run_sync

from .helpers import add


@pytest.mark.parametrize("kind, url", [
    ("relay", "http://t.example.com"), ("activecampaign", "http://acme.api-us1.com"),
    ("stripe", "http://api.stripe.example"), ("hubspot", "http://10.0.0.5:8080"), ("kit", "http://192.168.1.2"),
    ("keap", "http://[2001:db8::1]"), ("relay", "ftp://t.example.com"), ("relay", "t.example.com"),
])
def test_plain_http_to_another_host_is_refused_in_one_line(tmp_path, monkeypatch, capsys, kind, url):
    monkeypatch.setenv("TOKEN", "secret-token")
    code = main(["--workspace", str(tmp_path / "ws"), "sources", "add", kind, "--base-url", url,
                 "--secret-env", "TOKEN"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1, err
    assert "https://" in err


@pytest.mark.parametrize("url", ["http://127.0.0.1:8787", "http://localhost:8787", "http://[::1]:8787",
                                 "http://127.8.9.10", "https://t.example.com"])
def test_https_and_loopback_http_are_accepted(tmp_path, monkeypatch, capsys, url):
    monkeypatch.setenv("TOKEN", "secret-token")
    assert main(["--workspace", str(tmp_path / "ws"), "sources", "add", "relay", "--base-url", url,
                 "--secret-env", "TOKEN"]) == 0, capsys.readouterr().err


def test_private_network_needs_the_documented_opt_out(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TOKEN", "secret-token")
    ws = ["--workspace", str(tmp_path / "ws")]
    assert main([*ws, "sources", "add", "relay", "--base-url", "http://10.0.0.5:8787", "--secret-env", "TOKEN",
                 "--allow-insecure-http"]) == 0
    capsys.readouterr()
    assert main([*ws, "sources", "list", "--json"]) == 0
    config = orjson.loads(capsys.readouterr().out)["sources"][0]["config"]
    assert config == {"base_url": "http://10.0.0.5:8787", "allow_insecure_http": True}


def test_a_source_stored_with_plain_http_earlier_fails_its_sync(ws):
    add(ws, "relay", base_url="https://t.example.com")
    ws.conn.execute("UPDATE sources SET config = ? WHERE name = 'relay'",
                    (orjson.dumps({"base_url": "http://t.example.com"}).decode(),))
    ws.conn.commit()
    report = run_sync(ws)
    assert [r.status for r in report.sources] == ["failed"]
    assert "refusing plain http to t.example.com" in report.sources[0].reason


def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    return tmp_path / "cert.pem", tmp_path / "key.pem"


def test_certificates_are_verified(ws, tmp_path, options):
    """A relay on loopback with a certificate nobody vouches for: the sync fails
    in one line before the pull token is sent."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"events":[],"next":0,"more":false}')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*_self_signed(tmp_path))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        add(ws, "relay", base_url=f"https://127.0.0.1:{server.server_address[1]}")
        report = run_sync(ws, options=options())
    finally:
        server.shutdown()
        server.server_close()
    assert [r.status for r in report.sources] == ["failed"]
    reason = report.sources[0].reason
    assert "\n" not in reason and "certificate" in reason.lower(), reason
    assert seen == []  # the token never left
