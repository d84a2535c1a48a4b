"""What an operator relies on, over a real socket: HTTPS, metrics kept from outsiders,
logs that are JSON only, and /docs that works with no internet access."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import signal
import ssl
from pathlib import Path

import httpx
from apihelpers import make_api
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from deconfliction.store import Store
from served import Server, free_port, setup_parties


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "tls.crt", directory / "tls.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_file.chmod(0o600)
    return cert_file, key_file


def test_https_metrics_and_json_logs(tmp_path: Path) -> None:
    """One server with TLS, a private metrics port and info logs: a party signs in over
    HTTPS; /metrics wants an admin token, the metrics port does not; every line the
    process wrote, uvicorn's own included, is a JSON object."""
    cert, key = _self_signed(tmp_path)
    trust = ssl.create_default_context(cafile=str(cert))
    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    credentials = setup_parties(db, ["red"])
    admin = setup_parties(db, ["ops"], scopes="admin")["ops"]
    metrics_port = free_port()
    server = Server(
        db,
        tmp_path,
        credentials=credentials,
        extra_args=["--tls-cert", str(cert), "--tls-key", str(key), "--metrics-port", str(metrics_port)],
        scheme="https",
        verify=trust,
        log_level="info",
    ).start()
    try:
        with httpx.Client(base_url=server.url, verify=trust, timeout=30) as client:
            red_id, red_secret = credentials["red"]
            token = client.post("/v1/auth/token", json={"client_id": red_id, "client_secret": red_secret})
            assert token.status_code == 200
            red = {"Authorization": f"Bearer {token.json()['access_token']}"}
            assert client.get("/v1/auth/whoami", headers=red).json()["party"] == "red"
            assert client.get("/metrics").status_code == 401
            assert client.get("/metrics", headers=red).status_code == 403
            ops = client.post("/v1/auth/token", json={"client_id": admin[0], "client_secret": admin[1]})
            ops_headers = {"Authorization": f"Bearer {ops.json()['access_token']}"}
            scraped = client.get("/metrics", headers=ops_headers)
            assert scraped.status_code == 200
            assert "deconfliction_http_requests_total" in scraped.text
            assert client.get("/nowhere").status_code == 404
        # plain HTTP on the TLS port is not served
        try:
            served_plain = httpx.get(f"http://127.0.0.1:{server.port}/health", timeout=10).is_success
        except httpx.HTTPError:
            served_plain = False
        assert not served_plain
        private = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
        assert private.status_code == 200
        assert "deconfliction_http_requests_total" in private.text
    finally:
        # uvicorn re-raises the signal once it has shut down cleanly (systemd counts it a clean stop)
        assert server.terminate() in (0, -signal.SIGTERM)
    lines = (tmp_path / "server.log").read_text().splitlines()
    assert len(lines) >= 5  # start-up, requests, shutdown
    entries = [json.loads(line) for line in lines]
    loggers = {entry["logger"] for entry in entries}
    assert {"deconfliction.api", "uvicorn.error"} <= loggers
    assert all({"ts", "level", "logger", "event"} <= set(entry) for entry in entries)


def test_docs_work_without_internet(store: Store, tmp_path: Path) -> None:
    """/docs loads every script, style and icon from the service itself."""
    api = make_api(store, tmp_path)
    page = api.client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets
    assert all(asset.startswith("/static/") for asset in assets), assets
    assert not re.search(r"https?://", page.text)
    for asset in assets:
        r = api.client.get(asset)
        assert r.status_code == 200, asset
        assert len(r.content) > 500
    assert api.client.get("/static/swagger-ui-5.36.0.LICENSE").text.lstrip().startswith("Apache License")
    assert api.client.get("/openapi.json").status_code == 200
