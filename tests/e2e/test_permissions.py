"""A fresh data directory of `exchange serve` and of `exchange demo` (with EXCHANGE_HOME set,
as `make demo` runs it) has no group or other permission on anything the exchange wrote, run
under a permissive umask; `exchange serve` warns at start, one line per path, about what is
open to others. (The interactive demo test, under umask 022: tests/e2e/test_demo.py.)"""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.fixtures.packs import UBL_SOURCE
from tests.fixtures.server import add_party_cli, start_server


def open_to_others(root: Path) -> dict[str, str]:
    """Every directory and file from *root* down with a group or other permission bit."""
    found = {}
    for path in [root, *root.rglob("*")]:
        st = path.lstat()
        if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o077:
            found[str(path.relative_to(root.parent))] = oct(stat.S_IMODE(st.st_mode))
    return found


@contextmanager
def process_umask(mask: int):
    """Subprocesses started inside inherit *mask*."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _fresh_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")}
    env["EXCHANGE_HOME"] = str(home)  # everything else at its default: in the data directory
    return env


@pytest.mark.parametrize("umask", [0o022, 0o002], ids=["umask022", "umask002"])
def test_a_fresh_serve_data_directory_is_private(umask, tmp_path):
    home = tmp_path / "home"
    env = _fresh_env(home)
    with process_umask(umask):
        server = start_server(env, log_path=tmp_path / "server.log", args=("--dispatch",))
        try:
            _, _, token = add_party_cli(env, "forwarder", "Private Forwarder")
            r = httpx.post(f"{server.base_url}/v1/shipments", timeout=30,
                           headers={"Authorization": f"Bearer {token}"},
                           json={"route": {"origin": "KG", "transit": [], "destination": "UZ"},
                                 "transport_mode": "road", "references": {"booking": "P-1"}})
            assert r.status_code == 201, r.text
        finally:
            server.stop()
    written = {str(p.relative_to(home)) for p in home.rglob("*")}
    assert {"exchange.db", "hub/hub-key.pem", "hub/hub-cert.pem", "hub/secrets.key"} <= written
    assert open_to_others(home) == {}
    assert "open to other users" not in server.log()

    # opened by hand: the next start names each such path and its mode, one line each
    os.chmod(home, 0o755)
    os.chmod(home / "hub" / "secrets.key", 0o640)
    server = start_server(env, log_path=tmp_path / "again.log")
    server.stop()
    warned = [line for line in server.log().splitlines() if "open to other users" in line]
    assert len(warned) == 2, server.log()
    assert f"{home} is open to other users (mode 0755)" in warned[0]
    assert f"{home / 'hub' / 'secrets.key'} is open to other users (mode 0640)" in warned[1]


def test_a_fresh_demo_data_directory_is_private(tmp_path):
    home = tmp_path / "home"
    env = _fresh_env(home)
    out = subprocess.run([sys.executable, "-m", "exchange", "demo", "--standards",
                          str(UBL_SOURCE), "--port", "0", "--smoke"], env=env, umask=0o002,
                         capture_output=True, text=True, timeout=400, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    written = {str(p.relative_to(home)) for p in home.rglob("*")}
    assert {"schemas", "trust/KZ", "hub/secrets.key", "demo/exchange.db", "demo/members.toml",
            "demo/pki", "edifact/AF/out"} <= written, sorted(written)
    assert open_to_others(home) == {}
