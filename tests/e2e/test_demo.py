"""The README's first command: `exchange demo` sets up a corridor and runs it; Ctrl-C stops
everything it started; all it wrote is owner-only (also tests/e2e/test_permissions.py)."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx

from tests.fixtures.packs import UBL_SOURCE


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_demo_runs_a_corridor_and_ctrl_c_stops_everything(tmp_path):
    env = dict(os.environ, EXCHANGE_HOME=str(tmp_path / "home"))
    for name in ("EXCHANGE_DATABASE_URL", "EXCHANGE_MEMBERS_FILE", "EXCHANGE_CONFIG"):
        env.pop(name, None)
    proc = subprocess.Popen([sys.executable, "-m", "exchange", "demo", "--standards",
                             str(UBL_SOURCE), "--port", "0"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, umask=0o022)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = proc.stdout.readline().decode()
            assert line or proc.poll() is None, "".join(lines)
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        out = "".join(lines)
        base = re.search(r"Dashboard:\s+(http://127\.0\.0\.1:\d+)/ui/", out).group(1)
        keys = dict(re.findall(r"^\s+(\S+)\s+(?:KZ|--)\s+.*?(cxk_\S+)$", out, re.M))
        assert {"forwarder", "operator"} <= set(keys), out
        shipment = re.search(r"demo shipment (\S+) KZ -> UZ -> AF", out).group(1)
        forwarder = {"Authorization": f"Bearer {keys['forwarder']}"}
        # the shipment is there, with its four signed documents, and reaches the customs
        # systems of the three countries through three adapter kinds
        for _ in range(120):
            deliveries = httpx.get(f"{base}/v1/shipments/{shipment}/deliveries",
                                   headers=forwarder, timeout=10).json()["items"]
            if deliveries and all(d["status"] not in ("pending", "sending", "retrying")
                                  for d in deliveries):
                break
            time.sleep(0.5)
        assert {d["country"] for d in deliveries} == {"KZ", "UZ", "AF"}
        assert {d["adapter"] for d in deliveries} == {"inbox", "https-push", "edifact-file"}
        body = httpx.get(f"{base}/v1/shipments/{shipment}", headers=forwarder, timeout=10).json()
        assert len(body["documents"]) == 5
        assert all(d["signature"]["present"] and d["signature"]["valid"]
                   for d in body["documents"])
        # the main shipment's dossier is consistent (made from the official examples so that
        # ids, weights, values and countries agree); the second shows its one real problem
        assert body["dossier"] == {"status": "consistent", "findings": []}
        second = re.search(r"second demo shipment (\S+) KZ -> UZ -> AF", out).group(1)
        other = httpx.get(f"{base}/v1/shipments/{second}", headers=forwarder, timeout=10).json()
        (finding,) = other["dossier"]["findings"]
        assert finding["check"] == "route-countries"
        assert "CN as the country of export" in finding["message"] and finding["message"] in out
        # ... in the reader's language, from the same catalogues, on the API too
        russian = httpx.get(f"{base}/v1/shipments/{second}", timeout=10,
                            headers={**forwarder, "Accept-Language": "ru"}).json()
        (found,) = russian["dossier"]["findings"]
        assert "CN" in found["message"] and "страной экспорта" in found["message"]
        # the server's root leads to the dashboard, and pages have an icon
        root = httpx.get(f"{base}/", timeout=10)
        assert root.status_code == 307 and root.headers["location"] == "/ui/"
        icon = httpx.get(f"{base}/favicon.ico", timeout=10)
        assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
        # the printed environment lines point the exchange command at the demo's data
        cli_env = dict(os.environ)
        for name, value in re.findall(r"^\s+export (EXCHANGE_\w+)=(\S+)$", out, re.M):
            cli_env[name] = value.strip("'")
        assert cli_env["EXCHANGE_HOME"] == str(tmp_path / "home")
        listed = subprocess.run([sys.executable, "-m", "exchange", "deliveries", "list",
                                 "--format", "json"], env=cli_env, capture_output=True,
                                text=True, timeout=120)
        assert listed.returncode == 0, listed.stdout + listed.stderr
        assert shipment in listed.stdout and second in listed.stdout
        audit = subprocess.run([sys.executable, "-m", "exchange", "audit", "verify"],
                               env=cli_env, capture_output=True, text=True, timeout=120)
        assert audit.returncode == 0, audit.stdout + audit.stderr
        example = tmp_path / "home/schemas/ubl-2.4/xml/UBL-Invoice-2.1-Example.xml"
        valid = subprocess.run([sys.executable, "-m", "exchange", "validate", str(example)],
                               env=cli_env, capture_output=True, text=True, timeout=120)
        assert valid.returncode == 0, valid.stdout + valid.stderr
        # a demo CA per member country, clearly named as demo, in each trust folder
        from cryptography import x509
        for cc in ("AF", "AZ", "CN", "GE", "KG", "KZ", "MN", "PK", "TJ", "TM", "UZ"):
            (pem,) = (tmp_path / "home/trust" / cc).glob("*.pem")
            subject = x509.load_pem_x509_certificate(pem.read_bytes()).subject.rfc4514_string()
            assert "CAREC demo" in subject and cc in subject
        ports = [int(base.rsplit(":", 1)[1])] + [
            int(p) for p in re.findall(r"customs simulator for \w\w on http://127.0.0.1:(\d+)",
                                       out)]
        assert len(ports) >= 2 and all(_port_open(p) for p in ports)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        assert "demo stopped" in proc.stdout.read().decode()
        assert not any(_port_open(p) for p in ports)  # everything it started has stopped
        # under umask 022, nothing the demo wrote is open to the group or to others
        home = tmp_path / "home"
        opened = {str(p): oct(p.lstat().st_mode & 0o777) for p in [home, *home.rglob("*")]
                  if not p.is_symlink() and p.lstat().st_mode & 0o077}
        assert opened == {}
    finally:
        if proc.poll() is None:
            proc.kill()
