"""`exchange db backup` while `exchange serve` runs, `exchange db restore` into a fresh data
directory, `exchange audit verify`, and a server on the restored store that serves the same
shipments, on SQLite and PostgreSQL (pg_dump / pg_restore from PATH). Without the secrets
key of the backup, the restored store (which holds a sealed provider secret) does not start."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys

import httpx
import pytest

from tests.fixtures.packs import UBL_EXAMPLES
from tests.fixtures.postgres import PG_BIN
from tests.fixtures.server import add_party_cli

WAYBILL = (UBL_EXAMPLES / "UBL-Waybill-2.0-Example-International.xml").read_bytes()
ROUTE = {"origin": "KG", "transit": ["UZ"], "destination": "AF"}  # KG: no signature required


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "exchange", *args], env=env,
                          capture_output=True, text=True, timeout=180, check=False)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _new_shipment(client: httpx.Client, *, with_document: bool) -> str:
    meta = {"route": ROUTE, "transport_mode": "road", "references": {"booking": "BK-B"}}
    if with_document:
        files = [("shipment", (None, json.dumps(meta), "application/json")),
                 ("documents", ("waybill.xml", WAYBILL, "application/xml"))]
        r = client.post("/v1/shipments", files=files)
    else:
        r = client.post("/v1/shipments", json=meta)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _served(client: httpx.Client, ids: list[str]) -> dict:
    """What a forwarder is served of the shipments: views, events, sealed documents."""
    out = {"listed": sorted(s["id"] for s in client.get("/v1/shipments").json()["items"])}
    for sid in ids:
        view = client.get(f"/v1/shipments/{sid}")
        assert view.status_code == 200, view.text
        out[sid] = view.json()
        out[f"{sid}/events"] = client.get(f"/v1/shipments/{sid}/events").json()
        for doc in view.json()["documents"]:
            sealed = client.get(f"/v1/shipments/{sid}/documents/{doc['id']}",
                                params={"version": "sealed"})
            assert sealed.status_code == 200
            out[doc["id"]] = sealed.content
    return out


@pytest.mark.parametrize("engine", ["sqlite",
                                    pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_backup_and_restore_into_a_fresh_data_directory(engine, request, server_env,
                                                        exchange_server, exchange_home,
                                                        tmp_path):
    def new_url(folder):
        if engine == "sqlite":
            return f"sqlite:///{folder / 'exchange.db'}"
        return request.getfixturevalue("postgres_server").create_database()

    path = {"PATH": f"{PG_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}  # pg_dump, pg_restore
    url = new_url(tmp_path / "live")
    env = server_env(url, **path)
    _, _, token = add_party_cli(env, "forwarder", "Backup Forwarder")
    provider, _, _ = add_party_cli(env, "payment-provider", "Backup Bank")
    sealed = run(env, "payments", "provider-secret", provider)
    assert sealed.returncode == 0, sealed.stderr
    server = exchange_server(url, **path)
    forwarder = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.base_url, headers=forwarder, timeout=60) as c:
        ids = [_new_shipment(c, with_document=True), _new_shipment(c, with_document=False)]
        before = _served(c, ids)
        backup = tmp_path / "backups" / "exchange.backup"
        done = run(env, "db", "backup", str(backup))  # the server is running
        assert done.returncode == 0, done.stderr
        assert f"backed up to {backup}" in done.stdout and "secrets key" in done.stdout
        later = _new_shipment(c, with_document=False)  # after the backup: not in it
    assert _mode(backup) == 0o600 and _mode(backup.parent) == 0o700

    fresh = tmp_path / "fresh-home"
    restored_url = new_url(fresh)
    fresh_env = server_env(restored_url, EXCHANGE_HOME=str(fresh), **path)
    out = run(fresh_env, "db", "restore", str(backup))
    assert out.returncode == 0, out.stderr
    assert "restored into" in out.stdout
    if engine == "sqlite":
        assert _mode(fresh) == 0o700 and _mode(fresh / "exchange.db") == 0o600
    again = run(fresh_env, "db", "restore", str(backup))
    assert again.returncode == 1 and "--force" in again.stderr  # it holds data now
    forced = run(fresh_env, "db", "restore", "--force", str(backup))
    assert forced.returncode == 0, forced.stderr
    verify = run(fresh_env, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.strip().endswith("all intact")

    # the store holds a provider secret sealed with the secrets key: without that key the
    # exchange refuses to start (a new key would never open it)
    with pytest.raises(RuntimeError, match="EXCHANGE_PAYMENTS_SECRETS_KEY_FILE"):
        exchange_server(restored_url, EXCHANGE_HOME=str(fresh))
    key = fresh / "hub" / "secrets.key"
    assert not key.exists()
    key.parent.mkdir(mode=0o700, parents=True)
    shutil.copy2(exchange_home / "hub" / "secrets.key", key)  # put back from the backup
    restored = exchange_server(restored_url, EXCHANGE_HOME=str(fresh))
    with httpx.Client(base_url=restored.base_url, headers=forwarder, timeout=60) as c:
        assert _served(c, ids) == before
        assert c.get(f"/v1/shipments/{later}").status_code == 404
