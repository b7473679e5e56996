"""`exchange db upgrade` and `exchange serve --workers` as subprocesses."""
from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from tests.fixtures.packs import UBL_EXAMPLES
from tests.fixtures.server import add_party_cli, start_server


def run(env, *args):
    return subprocess.run([sys.executable, "-m", "exchange", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_db_upgrade_on_both_engines(db_url, server_env):
    env = server_env(db_url)
    first = run(env, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert "database at revision" in first.stdout
    assert run(env, "db", "upgrade").stdout == first.stdout  # nothing left to do
    verify = run(env, "audit", "verify")
    assert verify.returncode == 0 and "0 chains verified" in verify.stdout


@pytest.mark.parametrize("url", ["postgresql+psycopg://nobody@127.0.0.1:1/none",
                                 "sqlite:////etc/hostname/under-a-file.db"])
def test_db_upgrade_on_an_unreachable_database_names_the_setting(server_env, url):
    out = run(server_env(url), "db", "upgrade")
    assert out.returncode == 2
    assert "EXCHANGE_DATABASE_URL" in out.stderr


def test_serve_with_several_workers_shares_one_database(tmp_path, server_env):
    env = server_env(f"sqlite:///{tmp_path / 'exchange.db'}")
    _, _, token = add_party_cli(env, "forwarder", "Workers Forwarder")
    server = start_server(env, log_path=tmp_path / "server.log", args=("--workers", "2"))
    try:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as c:
            sid = c.post("/v1/shipments", json={
                "route": {"origin": "KG", "transit": [], "destination": "TJ"},
                "transport_mode": "rail"}).json()["id"]
            data = (UBL_EXAMPLES / "UBL-Invoice-2.1-Example.xml").read_bytes()
            answers = [c.post(f"/v1/shipments/{sid}/documents", content=data,
                              headers={"Content-Type": "application/xml"}) for _ in range(4)]
            assert [a.status_code for a in answers] == [201, 200, 200, 200]
            assert c.get(f"/v1/shipments/{sid}").json()["totals"]["documents"] == 1
    finally:
        server.stop()
    assert server.process.returncode is not None


def test_serve_with_no_hub_key_configured_makes_a_development_identity(tmp_path, server_env):
    env = server_env(f"sqlite:///{tmp_path / 'exchange.db'}")
    for name in ("EXCHANGE_HUB_KEY_FILE", "EXCHANGE_HUB_CERT_FILE",
                 "EXCHANGE_HUB_KEY_PASSPHRASE"):
        env.pop(name)
    home = tmp_path / "home"
    env["EXCHANGE_HOME"] = str(home)
    server = start_server(env, log_path=tmp_path / "server.log")
    try:
        assert httpx.get(f"{server.base_url}/openapi.json", timeout=30).status_code == 200
    finally:
        server.stop()
    key = home / "hub" / "hub-key.pem"
    assert key.is_file() and (home / "hub" / "hub-cert.pem").is_file()
    assert key.stat().st_mode & 0o077 == 0  # private to its owner
    assert "development hub identity" in server.log()
