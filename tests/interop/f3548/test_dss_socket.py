"""The F3548 DSS over a real socket: `deconfliction serve` with the token options."""

from __future__ import annotations

import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from test_dss_http import ISS, KEY, OTHER_KEY, _pem, oi_body, token

from served import Server


@dataclass
class DssServer(Server):
    """`deconfliction serve` with extra command-line options."""

    options: list[str] = field(default_factory=list)

    def _spawn(self, env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
        command = [
            str(Path(sys.executable).parent / "deconfliction"),
            "serve",
            "--db",
            self.db,
            "--port",
            str(self.port),
            "--key-file",
            str(self.workdir / "token.key"),
            "--log-level",
            "warning",
            *self.options,
        ]
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)


def test_serve_accepts_the_configured_key_only(tmp_path: Path) -> None:
    pem = tmp_path / "auth-server.pem"
    pem.write_text(_pem(KEY), encoding="ascii")
    options = ["--f3548-public-key", str(pem), "--f3548-audience", "127.0.0.1", "--f3548-issuer", ISS]
    server = DssServer(db=str(tmp_path / "dss.sqlite"), workdir=tmp_path, options=options).start()
    try:
        url = f"{server.url}/dss/v1/operational_intent_references/{uuid.uuid4()}"
        good = token(aud="127.0.0.1")
        assert (
            httpx.put(url, json=oi_body(), headers=token(aud="127.0.0.1", key=OTHER_KEY)).status_code == 401
        )
        assert httpx.put(url, json=oi_body(), headers=token(aud="localhost")).status_code == 401
        created = httpx.put(url, json=oi_body(), headers=good)
        assert created.status_code == 201, created.text
        assert httpx.get(url, headers=good).json()["operational_intent_reference"]["manager"] == "uss1"
        assert httpx.get(f"{server.url}/aux/v1/version").status_code == 200
    finally:
        server.stop()
