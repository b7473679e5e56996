"""Signature verdicts and XML refusals in the reader's language: real signed documents (the
demo PKI's KZ and UZ signers, one tampered after signing) and a real DOCTYPE submitted to the
real API application with ``Accept-Language: ru`` / ``zh-CN`` answer with the ``signatures``
catalogue's sentences (refusal detail, each bad signature's ``message``, the well-formedness
finding), the codes and the library's own English words unchanged beside them; ``exchange
verify`` and the document page say the same."""
from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from exchange.domain import PartyKind
from tests.fixtures.packs import UBL_EXAMPLES
from tests.fixtures.server import members_with_trust

with warnings.catch_warnings():  # starlette would rather have httpx2, which is not installed
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

WAYBILL_PATH = UBL_EXAMPLES / "UBL-Waybill-2.0-Example-International.xml"
WAYBILL = WAYBILL_PATH.read_bytes()
KZ_ROUTE = {"origin": "KZ", "transit": ["UZ"], "destination": "AF"}  # KZ requires signatures
XML = {"Content-Type": "application/xml"}
RU = {"Accept-Language": "ru"}
ZH = {"Accept-Language": "zh-CN"}
DOCTYPE = b"<?xml version='1.0'?><!DOCTYPE a [<!ENTITY e 'x'>]><Waybill>&e;</Waybill>"


@dataclass
class Api:
    client: TestClient
    forwarder: dict[str, str]

    def submit(self, data: bytes, headers: dict[str, str] | None = None) -> dict:
        created = self.client.post("/v1/shipments", headers=self.forwarder, json={
            "route": KZ_ROUTE, "transport_mode": "road", "references": {}})
        assert created.status_code == 201, created.text
        r = self.client.post(f"/v1/shipments/{created.json()['id']}/documents", content=data,
                             headers=self.forwarder | XML | (headers or {}))
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        return r.json()


@pytest.fixture(scope="module")
def api(tmp_path_factory, exchange_home, hub_identity, pki) -> Iterator[Api]:
    from exchange.bootstrap import build_app, build_services
    from exchange.config import load_settings
    from exchange.parties.keys import add_party

    home = tmp_path_factory.mktemp("signature-verdicts")
    key, cert = hub_identity
    with pytest.MonkeyPatch.context() as env:
        env.setenv("EXCHANGE_HOME", str(exchange_home))  # with the schema packs
        env.setenv("EXCHANGE_DATABASE_URL", f"sqlite:///{home / 'exchange.db'}")
        env.setenv("EXCHANGE_HUB_KEY_FILE", str(key))
        env.setenv("EXCHANGE_HUB_CERT_FILE", str(cert))
        env.setenv("EXCHANGE_HUB_KEY_PASSPHRASE", "hub-pass")
        env.setenv("EXCHANGE_MEMBERS_FILE", str(members_with_trust(home, pki)))
        settings = load_settings()
        services = build_services(settings, migrate=True)
        with services.uow.writing() as uow:
            _, forwarder = add_party(uow, kind=PartyKind.FORWARDER, name="Forwarder")
            uow.commit()
        with TestClient(build_app(settings, services=services)) as client:
            yield Api(client, {"Authorization": f"Bearer {forwarder.token}"})
        services.uow.engines.dispose()


def signed(data: bytes, leaf, validator) -> bytes:
    from lxml import etree

    from signing import Signer
    from signing.safexml import parse_xml

    tree = parse_xml(data)
    schema = validator.schema_path(etree.QName(tree.getroot()).namespace)
    return etree.tostring(Signer(leaf.identity()).sign(tree, schema=schema),
                          xml_declaration=True, encoding="UTF-8")


@pytest.fixture(scope="module")
def by_uz(pki, validator) -> bytes:
    """A waybill signed by a UZ signer, submitted from KZ: the wrong country's trust list."""
    return signed(WAYBILL, pki.leaf("UZ"), validator)


@pytest.fixture(scope="module")
def tampered(pki, validator) -> bytes:
    return signed(WAYBILL, pki.leaf("KZ"), validator).replace(
        b"<cbc:Name>Air Waybill</cbc:Name>", b"<cbc:Name>Sea Waybill</cbc:Name>")


def test_a_signer_of_another_country(api: Api, by_uz: bytes) -> None:
    english = api.submit(by_uz)
    [sig] = english["signature"]["signatures"]
    assert sig["reason"] == "wrong-country" and sig["params"]["signer_country"] == "UZ"
    assert "not to a trust anchor of KZ" in sig["detail"]  # the library's words, kept
    assert english["detail"].startswith("The signer's certificate is on the trust list of UZ")
    assert english["detail"].endswith("are signed with a certificate of the trust list of KZ.")
    assert sig["message"] == english["detail"]

    russian = api.submit(by_uz, RU)
    [sig] = russian["signature"]["signatures"]
    assert russian["title"] != english["title"]
    assert russian["detail"].startswith(
        "Сертификат подписанта входит в список доверенных сертификатов UZ (")
    assert "а не KZ: документы из KZ подписываются сертификатом" in russian["detail"]
    assert sig["message"] == russian["detail"] and sig["reason"] == "wrong-country"
    assert sig["detail"] == english["signature"]["signatures"][0]["detail"]

    chinese = api.submit(by_uz, ZH)
    assert chinese["detail"].startswith("签名人证书属于 UZ 的信任列表（")
    assert "来自 KZ 的单证须使用 KZ 信任列表中的证书签名。" in chinese["detail"]


def test_a_document_changed_after_signing(api: Api, tampered: bytes) -> None:
    english = api.submit(tampered)
    assert english["signature"]["signatures"][0]["reason"] == "digest-mismatch"
    assert english["detail"].startswith("The document was changed after it was signed")
    assert api.submit(tampered, RU)["detail"].startswith("Документ изменён после подписания")
    assert api.submit(tampered, ZH)["detail"].startswith("单证在签名后被修改")


def test_a_doctype_is_refused_in_the_readers_words(api: Api) -> None:
    english = api.submit(DOCTYPE)
    assert english["type"].endswith(":xml-unsafe")
    assert english["detail"].startswith("The document has a DOCTYPE declaration, which is "
                                        "not allowed")
    [finding] = english["validation"]["layers"][0]["findings"]
    assert finding["rule"] == "xml.doctype-forbidden" and finding["line"] == 1
    assert finding["message"] == english["detail"]
    assert finding["message_id"] and finding["detail"].startswith(
        "a DOCTYPE declaration is not allowed")  # the library's words for integrators

    russian = api.submit(DOCTYPE, RU)
    assert russian["detail"].startswith("Документ содержит объявление DOCTYPE, что не "
                                        "допускается")
    [finding] = russian["validation"]["layers"][0]["findings"]
    assert finding["message"] == russian["detail"] and finding["rule"] == "xml.doctype-forbidden"
    chinese = api.submit(DOCTYPE, ZH)
    assert chinese["detail"].startswith("单证含有 DOCTYPE 声明，这是不允许的")


def test_the_parsers_own_words_stay_a_parameter(api: Api) -> None:
    russian = api.submit(b"<Waybill><a></Waybill>", RU)
    [finding] = russian["validation"]["layers"][0]["findings"]
    parser = finding["params"]["parser"]
    assert "mismatch" in parser  # libxml2's words, as it said them
    assert finding["message"] == russian["detail"] == (
        f"Документ не является правильно сформированным XML (сообщение анализатора: "
        f"{parser}): исправьте XML и отправьте документ снова.")


def test_the_document_page_and_the_verify_command(by_uz: bytes, pki, run_cli,
                                                    tmp_path) -> None:
    from exchange.web.documents import signature_summary
    from signing import TrustStore, verify_document
    from signing.safexml import parse_xml

    trust = pki.trust_dir(tmp_path / "trust", ["KZ", "UZ"])
    report = verify_document(parse_xml(by_uz), trust=TrustStore(trust), country="KZ")
    [one] = signature_summary({"present": True, **report.to_dict()})["signatures"]
    assert one["why"].render("ru").startswith("Сертификат подписанта входит в список")
    assert one["why"].render("zh_Hans").startswith("签名人证书属于 UZ 的信任列表")

    path = tmp_path / "by-uz.xml"
    path.write_bytes(by_uz)
    args = ("verify", str(path), "--trust", str(trust), "--country", "KZ")
    english = run_cli(*args)
    assert english.returncode == 1
    assert b"signature 1: NOT VALID [wrong-country] The signer's certificate" in english.stdout
    russian = run_cli("--lang", "ru", *args).stdout.decode()
    assert ("электронная подпись 1: НЕДЕЙСТВИТЕЛЬНА [wrong-country] Сертификат подписанта "
            "входит в список доверенных сертификатов UZ") in russian
    unsafe = tmp_path / "doctype.xml"
    unsafe.write_bytes(DOCTYPE)
    chinese = run_cli("--lang", "zh", "verify", str(unsafe), "--trust", str(trust))
    assert chinese.returncode == 1
    assert "REFUSED [xml.doctype-forbidden] 单证含有 DOCTYPE 声明" in chinese.stdout.decode()
