"""`exchange sign`, `exchange verify`, `exchange trust` and `exchange validate --verify`
as real subprocesses."""
from __future__ import annotations

import json

import pytest

from tests.fixtures.packs import UBL_EXAMPLES

WAYBILL = UBL_EXAMPLES / "UBL-Waybill-2.0-Example-International.xml"


@pytest.fixture(scope="module")
def ids(pki, tmp_path_factory):
    kz, uz = pki.leaf("KZ"), pki.leaf("UZ", kind="ec")
    trust = pki.trust_dir(tmp_path_factory.mktemp("trust"), ["KZ", "UZ"])
    return kz, uz, trust


def _sign(run_cli, src, out, leaf, *extra, env=None):
    return run_cli("sign", str(src), "-o", str(out), "--key", str(leaf.key_path),
                   "--cert", str(leaf.cert_path), *extra, env=env)


def test_sign_then_verify(run_cli, ids, tmp_path):
    kz, _, trust = ids
    out = tmp_path / "signed.xml"
    done = _sign(run_cli, WAYBILL, out, kz)
    assert done.returncode == 0, done.stderr
    ok = run_cli("verify", str(out), "--trust", str(trust), "--country", "KZ")
    assert ok.returncode == 0, ok.stdout
    assert b"all signatures valid" in ok.stdout and b"Forwarder" in ok.stdout
    other = run_cli("verify", str(out), "--trust", str(trust), "--country", "UZ",
                    "--format", "json")
    assert other.returncode == 1
    report = json.loads(other.stdout)
    assert report["all_valid"] is False
    assert report["signatures"][0]["reason"] == "wrong-country"
    assert report["signatures"][0]["signer"]["sha256"]


def test_second_signature_from_stdin_to_stdout(run_cli, ids, tmp_path):
    kz, uz, trust = ids
    once = tmp_path / "once.xml"
    assert _sign(run_cli, WAYBILL, once, kz).returncode == 0
    done = run_cli("sign", "-", "-o", "-", "--key", str(uz.key_path), "--cert",
                   str(uz.cert_path), input=once.read_bytes())
    assert done.returncode == 0, done.stderr
    twice = tmp_path / "twice.xml"
    twice.write_bytes(done.stdout)
    ok = run_cli("verify", str(twice), "--trust", str(trust), "--format", "json")
    assert ok.returncode == 0
    assert [s["country"] for s in json.loads(ok.stdout)["signatures"]] == ["KZ", "UZ"]


def test_encrypted_key_passphrase_from_env_or_file(run_cli, ids, tmp_path, cli_env):
    kz, _, _ = ids
    key = kz.write_key(tmp_path / "enc.pem", b"correct horse")
    env = dict(cli_env, SIGN_PASS="correct horse")
    args = ("sign", str(WAYBILL), "-o", str(tmp_path / "a.xml"), "--key", str(key),
            "--cert", str(kz.cert_path))
    done = run_cli(*args, "--passphrase-env", "SIGN_PASS", env=env)
    assert done.returncode == 0, done.stderr
    assert b"correct horse" not in done.stdout + done.stderr
    pass_file = tmp_path / "pass"
    pass_file.write_text("correct horse\n")
    assert run_cli(*args, "--passphrase-file", str(pass_file)).returncode == 0
    wrong = run_cli(*args, "--passphrase-env", "SIGN_PASS", env=dict(cli_env, SIGN_PASS="x"))
    assert wrong.returncode == 2 and b"signing.passphrase" in wrong.stderr
    missing = run_cli(*args)
    assert missing.returncode == 2 and b"give its passphrase" in missing.stderr


def test_pkcs12(run_cli, ids, tmp_path, cli_env):
    kz, _, trust = ids
    p12 = kz.write_pkcs12(tmp_path / "id.p12", b"p12")
    out = tmp_path / "p.xml"
    done = run_cli("sign", str(WAYBILL), "-o", str(out), "--pkcs12", str(p12),
                   "--passphrase-env", "P12", env=dict(cli_env, P12="p12"))
    assert done.returncode == 0, done.stderr
    assert run_cli("verify", str(out), "--trust", str(trust)).returncode == 0


def test_refusals_write_nothing(run_cli, ids, pki, tmp_path):
    kz, _, _ = ids
    other = pki.leaf("KZ")
    out = tmp_path / "never.xml"
    mismatch = run_cli("sign", str(WAYBILL), "-o", str(out), "--key", str(other.key_path),
                       "--cert", str(kz.cert_path))
    assert mismatch.returncode == 2 and b"signing.key-mismatch" in mismatch.stderr
    assert run_cli("sign", str(WAYBILL), "-o", str(out)).returncode == 2
    invalid = tmp_path / "invalid.xml"  # cbc:ID is mandatory in a Waybill
    invalid.write_bytes(WAYBILL.read_bytes().replace(b"<cbc:ID>", b"<cbc:Name>", 1)
                        .replace(b"</cbc:ID>", b"</cbc:Name>", 1))
    bad = _sign(run_cli, invalid, out, kz)
    assert bad.returncode == 1 and b"is not valid; nothing was signed" in bad.stderr
    unsafe = tmp_path / "dtd.xml"
    unsafe.write_bytes(b'<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>')
    assert _sign(run_cli, unsafe, out, kz).returncode == 1
    assert not out.exists()


def test_an_invalid_document_is_reported_against_the_file_given(run_cli, ids, tmp_path,
                                                                cli_env):
    """Issue 19: the findings name the input, its own line and column, and the right layer
    (a code-list error is not a schema error), in the reader's language."""
    kz, _, _ = ids
    data = WAYBILL.read_bytes()
    id_line = data[:data.index(b"<cbc:ID>")].count(b"\n") + 1
    bad = data.replace(b"<cbc:ID>", b"<cbc:Name>", 1).replace(b"</cbc:ID>", b"</cbc:Name>", 1)
    bad = bad.replace(b'unitCode="KGM"', b'unitCode="KILO"', 1)
    unit_at = bad.index(b'unitCode="KILO"')
    unit_line = bad[:unit_at].count(b"\n") + 1
    unit_col = unit_at - bad.rindex(b"\n", 0, unit_at)
    src, out = tmp_path / "given.xml", tmp_path / "never.xml"
    src.write_bytes(bad)
    done = _sign(run_cli, src, out, kz)
    assert done.returncode == 1 and not out.exists()
    err = done.stderr.decode()
    assert f"{src}:{id_line}:2 error [schema] xsd.missing-element /Waybill/cbc:ID" in err
    assert f"{src}:{unit_line}:{unit_col} error [code-lists, partial] codelist.unit" in err
    assert "None" not in err and str(out) not in err
    ru = _sign(run_cli, src, out, kz, env=dict(cli_env, LANG="ru_RU.UTF-8"))
    assert "не является кодом единицы измерения" in ru.stderr.decode()


def test_verify_refusals(run_cli, ids, tmp_path):
    kz, _, trust = ids
    signed = tmp_path / "s.xml"
    assert _sign(run_cli, WAYBILL, signed, kz).returncode == 0
    tampered = tmp_path / "t.xml"
    tampered.write_bytes(signed.read_bytes().replace(b"Billerica", b"Rotterdam", 1))
    done = run_cli("verify", str(tampered), "--trust", str(trust))
    assert done.returncode == 1 and b"[digest-mismatch]" in done.stdout
    unsafe = tmp_path / "dtd.xml"
    unsafe.write_bytes(b'<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>')
    done = run_cli("verify", str(unsafe), "--trust", str(trust), "--format", "json")
    assert done.returncode == 1 and json.loads(done.stdout)["error"]["code"].startswith("xml.")
    unsigned = run_cli("verify", str(WAYBILL), "--trust", str(trust))
    assert unsigned.returncode == 1 and b"no-signature" in unsigned.stdout
    assert run_cli("verify", str(tmp_path / "missing.xml")).returncode == 2
    assert run_cli("verify", str(signed), "--trust", str(tmp_path / "nowhere")).returncode == 2
    assert run_cli("verify", str(signed), "--country", "Kazakhstan").returncode == 2


def test_trust_add_and_list(run_cli, pki, tmp_path, cli_env):
    env = dict(cli_env, EXCHANGE_HOME=str(tmp_path / "home"))
    empty = run_cli("trust", "list", env=env)
    assert empty.returncode == 0 and b"no trust lists" in empty.stdout
    added = run_cli("trust", "add", "--country", "KZ", str(pki.ca("KZ").cert_path), env=env)
    assert added.returncode == 0, added.stderr
    assert (tmp_path / "home" / "trust" / "KZ").is_dir()
    listed = run_cli("trust", "list", env=env)
    assert b"KZ: 1 CA certificate(s)" in listed.stdout and b"KZ customs demo CA" in listed.stdout
    leaf = pki.leaf("KZ")
    refused = run_cli("trust", "add", "--country", "KZ", str(leaf.cert_path), env=env)
    assert refused.returncode == 2 and b"not a CA certificate" in refused.stderr


def test_validate_with_verify(run_cli, ids, tmp_path):
    kz, _, trust = ids
    signed = tmp_path / "s.xml"
    assert _sign(run_cli, WAYBILL, signed, kz).returncode == 0
    ok = run_cli("validate", "--verify", "--trust", str(trust), "--country", "KZ", str(signed))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert b"signature 1: valid" in ok.stdout
    wrong = run_cli("validate", "--verify", "--trust", str(trust), "--country", "UZ",
                    "--format", "json", str(signed))
    assert wrong.returncode == 1
    doc = json.loads(wrong.stdout)["documents"][0]
    assert doc["decision"] == "accept" and doc["signatures"]["ok"] is False
