"""`exchange db backup` while `exchange serve` runs, `exchange db restore` into a fresh data
directory, `exchange audit verify`, and a server on the restored store that serves the same
shipments, on SQLite and PostgreSQL (pg_dump / pg_restore from PATH). Without the secrets
key of the backup, the restored store (which holds a sealed provider secret) does not start;
nor does it without the hub's key and certificate, or with another identity's (no new
identity is made: receivers pinned the old certificate), until they are put back (the same
certificate is served) or `exchange hub new-identity` records another on purpose."""
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
from tests.fixtures.server import add_party_cli, make_hub_identity

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


def _fingerprint(cert_file) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    return x509.load_pem_x509_certificate(cert_file.read_bytes()).fingerprint(
        hashes.SHA256()).hex()


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
                                                        hub_identity, tmp_path):
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
        live_certificate = c.get("/v1/hub/certificate").content
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

    # nor without the hub's key and certificate (the default files of the fresh directory):
    # the database records the identity that sealed it, and a new one is never made for it
    sealed_by = _fingerprint(hub_identity[1])
    hub_key, hub_cert = fresh / "hub" / "hub-key.pem", fresh / "hub" / "hub-cert.pem"
    default_hub = {"EXCHANGE_HOME": str(fresh), "EXCHANGE_HUB_KEY_FILE": None,
                   "EXCHANGE_HUB_CERT_FILE": None}
    with pytest.raises(RuntimeError) as refused:
        exchange_server(restored_url, **default_hub)
    said = " ".join(str(refused.value).split())
    assert "EXCHANGE_HUB_KEY_FILE: the hub key and certificate of this database are " \
           "missing" in said and sealed_by in said
    assert f"{hub_key} and {hub_cert} do not exist" in said
    assert "`exchange hub new-identity`" in said
    fresh_env = server_env(restored_url, **default_hub, **path)
    for command in (("dispatch", "--once"), ("hub", "certificate"),
                    ("--lang", "ru", "hub", "certificate")):
        out = run(fresh_env, *command)
        assert out.returncode == 2, out.stdout + out.stderr
        assert sealed_by in out.stderr and "exchange hub new-identity" in out.stderr
    assert "ключ и сертификат обменного узла" in out.stderr
    assert not hub_key.exists() and not hub_cert.exists()  # no new identity was made

    # a database from before identities were recorded: its sealed documents tell as much
    _forget_hub_identity(restored_url)
    out = run(fresh_env, "hub", "certificate")
    assert out.returncode == 2 and "it holds documents sealed by a hub identity" in out.stderr
    assert not hub_key.exists()

    # the hub's files put back from the backup: the same identity, recorded again
    shutil.copy2(hub_identity[0], hub_key)
    shutil.copy2(hub_identity[1], hub_cert)
    restored = exchange_server(restored_url, **default_hub)
    with httpx.Client(base_url=restored.base_url, headers=forwarder, timeout=60) as c:
        assert _served(c, ids) == before
        assert c.get(f"/v1/shipments/{later}").status_code == 404
        assert c.get("/v1/hub/certificate").content == live_certificate
    out = run(fresh_env, "dispatch", "--once")
    assert out.returncode == 0, out.stderr

    # another identity's files are refused, naming both certificates
    other_key, other_cert = make_hub_identity(tmp_path / "other-hub")
    other = server_env(restored_url, EXCHANGE_HOME=str(fresh),
                       EXCHANGE_HUB_KEY_FILE=str(other_key),
                       EXCHANGE_HUB_CERT_FILE=str(other_cert), **path)
    out = run(other, "hub", "certificate")
    assert out.returncode == 2
    said = " ".join(out.stderr.split())
    assert "EXCHANGE_HUB_CERT_FILE" in said and "are not the hub identity of this database" in said
    assert sealed_by in said and _fingerprint(other_cert) in said

    # ... until `exchange hub new-identity` records it on purpose
    out = run(other, "hub", "new-identity")
    assert out.returncode == 0, out.stderr
    assert _fingerprint(other_cert) in out.stdout and sealed_by in out.stdout
    assert "exchange trust add --hub hub.pem" in out.stdout
    assert run(other, "hub", "new-identity").returncode == 2  # already this identity
    out = run(other, "hub", "certificate")
    assert out.returncode == 0 and out.stdout.encode() == other_cert.read_bytes()
    out = run(fresh_env, "hub", "certificate")  # the old files are now the other identity
    assert out.returncode == 2 and _fingerprint(other_cert) in " ".join(out.stderr.split())

    # with the default files moved away, new-identity makes a self-signed one there
    hub_key.unlink()
    hub_cert.unlink()
    out = run(fresh_env, "hub", "new-identity")
    assert out.returncode == 0, out.stderr
    assert hub_key.is_file() and _fingerprint(hub_cert) in out.stdout
    assert _mode(hub_key) == 0o600
    renewed = exchange_server(restored_url, **default_hub)
    with httpx.Client(base_url=renewed.base_url, headers=forwarder, timeout=60) as c:
        assert c.get("/v1/hub/certificate").content == hub_cert.read_bytes()
        now = _served(c, ids)  # (the dispatcher above has delivered, with events)
        sealed = {k: v for k, v in before.items() if isinstance(v, bytes)}
        assert sealed and {k: now[k] for k in sealed} == sealed  # they keep their old seal


def _forget_hub_identity(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM hub_identities"))
    finally:
        engine.dispose()
