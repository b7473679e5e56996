"""The rules layer through the real entry points: `exchange validate` (one process and
--jobs), and the HTTP API's submission, whose reports name every rule pack and version."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.fixtures.packs import EN16931_SOURCE
from tests.fixtures.server import assert_problem, create, submit

UBL_INVOICE = EN16931_SOURCE / "ubl" / "examples" / "ubl-tc434-example1.xml"
CII_INVOICE = EN16931_SOURCE / "cii" / "examples" / "CII_example1.xml"
EN16931 = {"name": "en16931", "version": "1.3.16"}
# the sum of the invoice lines (BT-106) no longer matches them: schema-valid, BR-CO-10 fires
SUM_OF_LINES = b'<cbc:LineExtensionAmount currencyID="EUR">200.00</cbc:LineExtensionAmount>'


def _broken_invoice() -> bytes:
    data = UBL_INVOICE.read_bytes()
    start = data.index(b"<cac:LegalMonetaryTotal>")
    end = data.index(b"</cbc:LineExtensionAmount>", start) + len(b"</cbc:LineExtensionAmount>")
    head = data[start:end]
    tail = head[head.index(b"<cbc:LineExtensionAmount"):]
    return data[:start] + head.replace(tail, SUM_OF_LINES) + data[end:]


def _validate(env, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "exchange", "validate", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def _packs(doc: dict) -> list[dict]:
    (rules,) = [layer for layer in doc["layers"] if layer["name"] == "rules"]
    return [{"name": p["name"], "version": p["version"]} for p in rules["packs"]]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_validate_json_names_every_pack_and_version(tmp_path, cli_env, jobs):
    broken = tmp_path / "broken.xml"
    broken.write_bytes(_broken_invoice())
    run = _validate(cli_env, str(UBL_INVOICE), str(CII_INVOICE), str(broken),
                    "--format", "json", "--jobs", jobs)
    assert run.returncode == 1, run.stderr
    docs = {d["source"].rsplit("/", 1)[-1]: d for d in json.loads(run.stdout)["documents"]}
    assert {name: _packs(d) for name, d in docs.items()} == {
        "ubl-tc434-example1.xml": [EN16931], "CII_example1.xml": [EN16931],
        "broken.xml": [EN16931]}
    assert docs["ubl-tc434-example1.xml"]["decision"] == "accept"
    assert docs["CII_example1.xml"]["decision"] == "accept"
    assert docs["CII_example1.xml"]["pack"] == "cii-d16b"
    bad = docs["broken.xml"]
    assert bad["decision"] == "reject"
    (rules,) = [layer for layer in bad["layers"] if layer["name"] == "rules"]
    fired = {f["rule"] for f in rules["findings"] if f["severity"] == "error"}
    assert "BR-CO-10" in fired
    assert all(f["pack"] == "en16931" and f["line"] for f in rules["findings"])


def test_validate_rules_none_and_named_and_unknown(tmp_path, cli_env):
    broken = tmp_path / "broken.xml"
    broken.write_bytes(_broken_invoice())
    off = _validate(cli_env, str(broken), "--rules", "none", "--format", "json")
    assert off.returncode == 0, off.stdout  # schema and code lists only: it passes them
    (doc,) = json.loads(off.stdout)["documents"]
    assert [layer["name"] for layer in doc["layers"]] == [
        "well-formedness", "schema", "code-lists"]  # no rules layer at all
    text = _validate(cli_env, str(broken), "--rules", "en16931")
    assert text.returncode == 1
    assert "[rules] applied en16931 1.3.16" in text.stdout
    assert "error [rules] BR-CO-10" in text.stdout
    unknown = _validate(cli_env, str(broken), "--rules", "no-such-pack")
    assert unknown.returncode == 2 and "unknown rule pack 'no-such-pack'" in unknown.stderr
    mixed = _validate(cli_env, str(broken), "--rules", "none", "--rules", "en16931")
    assert mixed.returncode == 2 and "cannot be combined" in mixed.stderr


def test_api_reports_name_the_packs_and_refuse_a_rule_breach(world):
    r = create(world, documents=[("invoice.xml", UBL_INVOICE.read_bytes())])
    assert r.status_code == 201, r.text
    shipment = r.json()
    (doc,) = shipment["documents"]
    with world.client("forwarder") as c:
        view = c.get(f"/v1/shipments/{shipment['id']}").json()
    (stored,) = view["documents"]
    assert _packs(stored["validation"]) == [EN16931]
    r = submit(world, shipment["id"], CII_INVOICE.read_bytes(), filename="cii.xml")
    assert r.status_code == 201, r.text
    assert _packs(r.json()["validation"]) == [EN16931]
    before = world.counts()
    r = submit(world, shipment["id"], _broken_invoice(), filename="broken.xml")
    body = assert_problem(r, 422, "document-invalid")
    assert _packs(body["validation"]) == [EN16931]
    (rules,) = [layer for layer in body["validation"]["layers"] if layer["name"] == "rules"]
    assert rules["status"] == "invalid"
    assert "BR-CO-10" in {f["rule"] for f in rules["findings"]}
    assert world.counts()["documents"] == before["documents"]


def test_rules_list_and_install_commands(tmp_path, cli_env):
    env = dict(cli_env, EXCHANGE_HOME=str(tmp_path / "home"))
    listed = subprocess.run([sys.executable, "-m", "exchange", "rules", "list"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert "carec-corridor" in listed.stdout and "built in" in listed.stdout
    assert "en16931" in listed.stdout and "not installed" in listed.stdout
    bad = subprocess.run([sys.executable, "-m", "exchange", "rules", "install", "en16931",
                          "--from", str(tmp_path)], env=env, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "does not hold this pack" in bad.stderr
    good = subprocess.run([sys.executable, "-m", "exchange", "rules", "install", "en16931",
                           "--from", str(EN16931_SOURCE)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert good.returncode == 0 and "installed en16931 1.3.16" in good.stdout
    check = subprocess.run([sys.executable, "-m", "exchange", "rules", "check",
                            str(UBL_INVOICE), "--format", "json"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    (doc,) = json.loads(check.stdout)["documents"]
    assert [p["name"] for p in doc["layer"]["packs"]] == ["carec-corridor", "en16931"]


def test_validate_picks_the_rule_messages_language(cli_env):
    from tests.fixtures.packs import UBL_EXAMPLES

    waybill = str(UBL_EXAMPLES / "UBL-Waybill-2.0-Example-International.xml")
    ru = _validate(cli_env, waybill, "--rules", "carec-corridor", "--lang", "ru", "--jobs", "2",
                   waybill)
    assert ru.returncode == 1
    assert ru.stdout.count("error [rules] CAREC-07 /Waybill/cac:Shipment/cac:GoodsItem: "
                           "Товарная позиция '1': укажите код ТН ВЭД") == 2
    en = _validate(cli_env, waybill, "--rules", "carec-corridor", "--format", "json")
    (doc,) = json.loads(en.stdout)["documents"]
    (finding,) = doc["layers"][3]["findings"]
    assert finding["message"].startswith("Goods item '1': give its HS commodity code")
    assert set(finding["messages"]) == {"en", "ru"} and finding["line"] == 246


def test_validate_verify_runs_the_rules_too(cli_env):
    from tests.fixtures.packs import UBL_EXAMPLES

    waybill = str(UBL_EXAMPLES / "UBL-Waybill-2.0-Example-International.xml")
    run = _validate(cli_env, waybill, "--verify", "--rules", "carec-corridor", "--format",
                    "json")
    (doc,) = json.loads(run.stdout)["documents"]
    assert _packs(doc) == [{"name": "carec-corridor", "version": "1.0"}]
    assert "signatures" in doc and doc["decision"] == "reject"
