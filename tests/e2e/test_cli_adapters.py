"""`exchange adapters ...` and `exchange simulate-customs` as real subprocesses."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import httpx
import pytest

from adapters.members import default_members_path
from adapters.messages import render_envelope
from tests.fixtures.simulator import make_envelope


def test_check_reports_every_scenario_as_json(run_cli):
    done = run_cli("adapters", "check", "https-push", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["passed"] and report["kind"] == "https-push"
    assert {r["name"]: r["outcome"] for r in report["results"]}["timeout"] == "passed"


def test_check_with_settings_and_text_output(run_cli):
    done = run_cli("adapters", "check", "edifact-file", "--country", "AF",
                   "--setting", "recipient_id=AFASYCUDA")
    assert done.returncode == 0, done.stderr
    assert b"PASS  rejection" in done.stdout and b"edifact-file (AF) conforms" in done.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("adapters", "check", "carrier-pigeon"), b"unknown adapter kind 'carrier-pigeon'"),
    (("adapters", "check", "https-push", "--setting", "timeout_seconds=soon"),
     b"setting 'timeout_seconds' must be a number"),
    (("adapters", "check", "https-push", "--setting", "novalue"), b"expected KEY=VALUE"),
    (("simulate-customs", "--country", "FR"), b"'FR' is not a CAREC member"),
    (("simulate-customs", "--country", "UZ", "--require-signature"),
     b"--require-signature needs --trust-dir"),
    (("simulate-customs", "--country", "UZ", "--trust-dir", "/nonexistent/trust"),
     b"not a folder"),
    (("simulate-customs", "--country", "UZ", "--tls-cert", "/nonexistent.pem"),
     b"--tls-cert and --tls-key go together"),
    (("simulate-customs", "--country", "UZ", "--sign-key", "/nonexistent.pem"),
     b"--sign-key and --sign-cert go together"),
    (("simulate-customs", "--country", "UZ", "--sign-key", "/nonexistent.pem",
      "--sign-cert", "/nonexistent.crt"), b"signing.key-load"),
    (("simulate-customs", "--country", "UZ", "--misbehave", "explode"),
     b"'explode' is not a valid Misbehaviour"),
])
def test_usage_errors_exit_2(run_cli, args, message):
    done = run_cli(*args)
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_members_command_checks_a_file(run_cli, tmp_path):
    ok = run_cli("adapters", "members")
    assert ok.returncode == 0 and ok.stdout.count(b"\n") == 11
    bad = tmp_path / "members.toml"
    bad.write_text(default_members_path().read_text().replace('currency = "KZT"',
                                                             'currency = "tenge"'))
    done = run_cli("adapters", "members", "--file", str(bad))
    assert done.returncode == 2
    assert b"line " in done.stderr and b"KZ: currency must be an ISO 4217 code" in done.stderr


def test_list_shows_the_reference_kinds(run_cli):
    done = run_cli("adapters", "list")
    assert done.returncode == 0
    for kind in (b"https-push", b"inbox", b"edifact-file"):
        assert kind in done.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_simulate_customs_serves_until_stopped(cli_env):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "exchange", "simulate-customs", "--country", "UZ", "--port",
         str(port), "--follow-up", "query"], env=cli_env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(base + "/v1/admin/stats")
                break
            except httpx.TransportError:
                time.sleep(0.05)
        envelope = make_envelope("UZ")
        answer = httpx.post(base + "/v1/deliveries", content=render_envelope(envelope),
                            headers={"Idempotency-Key": envelope.delivery_id})
        assert answer.status_code == 200 and b"<Status>received</Status>" in answer.content
        assert b"<Kind>query</Kind>" in httpx.get(base + "/v1/decisions").content
        assert httpx.get(base + "/v1/admin/stats").json()["deliveries"] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert b"customs simulator for UZ" in proc.stderr.read()


def test_simulate_customs_on_the_file_channel(cli_env, tmp_path):
    from adapters.edifact_file import EdifactFileAdapter
    from adapters.registry import default_registry

    out, inbox = tmp_path / "out", tmp_path / "in"
    adapter = default_registry().create("edifact-file", country="AF", settings={
        "outbox_dir": str(out), "inbox_dir": str(inbox)})
    assert isinstance(adapter, EdifactFileAdapter)
    envelope = make_envelope("AF")
    adapter.deliver(envelope)
    proc = subprocess.Popen(
        [sys.executable, "-m", "exchange", "simulate-customs", "--country", "AF",
         "--edifact-outbox", str(out), "--edifact-inbox", str(inbox), "--follow-up", "query"],
        env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(400):
            batch = adapter.collect_decisions()
            if batch.decisions:
                break
            time.sleep(0.05)
        assert [str(d.kind) for d in batch.decisions] == ["acknowledged", "query"]
        assert batch.decisions[0].delivery_id == envelope.delivery_id
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert b"answered 1, duplicates 0, failed 0" in proc.stderr.read()
