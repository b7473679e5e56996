"""Problem answers in the reader's language: the real API application (SQLite store, API keys
of a forwarder and a customs authority) answers a missing shipment, a bad cursor, a bad
Idempotency-Key, a body with two bad fields, a route of non-members and a forbidden role with
the catalogues' Russian and Chinese titles, details and field messages, parameters filled in,
``Content-Language`` saying which, and the English words unchanged without the header."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import warnings

import pytest

from exchange.domain import PartyKind

with warnings.catch_warnings():  # starlette would rather have httpx2, which is not installed
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

MISSING = "00000000-0000-0000-0000-000000000000"
RU = {"Accept-Language": "ru"}
ZH = {"Accept-Language": "zh-CN;q=0.9"}


@dataclass
class Api:
    client: TestClient
    forwarder: dict[str, str]
    customs: dict[str, str]


@pytest.fixture(scope="module")
def api(tmp_path_factory, hub_identity) -> Iterator[Api]:
    from exchange.bootstrap import build_app, build_services
    from exchange.config import load_settings
    from exchange.parties.keys import add_party

    home = tmp_path_factory.mktemp("problem-language")
    key, cert = hub_identity
    with pytest.MonkeyPatch.context() as env:
        env.setenv("EXCHANGE_HOME", str(home))
        env.setenv("EXCHANGE_DATABASE_URL", f"sqlite:///{home / 'exchange.db'}")
        env.setenv("EXCHANGE_HUB_KEY_FILE", str(key))
        env.setenv("EXCHANGE_HUB_CERT_FILE", str(cert))
        env.setenv("EXCHANGE_HUB_KEY_PASSPHRASE", "hub-pass")
        settings = load_settings()
        services = build_services(settings, migrate=True)
        with services.uow.writing() as uow:
            _, forwarder = add_party(uow, kind=PartyKind.FORWARDER, name="Forwarder")
            _, customs = add_party(uow, kind=PartyKind.CUSTOMS, name="UZ customs",
                                   country="UZ")
            uow.commit()
        with TestClient(build_app(settings, services=services)) as client:
            yield Api(client, {"Authorization": f"Bearer {forwarder.token}"},
                      {"Authorization": f"Bearer {customs.token}"})
        services.uow.engines.dispose()


def _problem(response, status: int, code: str, language: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["content-language"] == language
    assert "Accept-Language" in response.headers["vary"]
    body = response.json()
    assert body["type"] == f"urn:carec-exchange:problem:{code}"
    return body


def test_a_missing_shipment(api: Api) -> None:
    path = f"/v1/shipments/{MISSING}"
    english = _problem(api.client.get(path, headers=api.forwarder), 404, "not-found", "en")
    assert (english["title"], english["detail"]) == ("Not found", f"no shipment {MISSING}")
    russian = _problem(api.client.get(path, headers=api.forwarder | RU), 404, "not-found", "ru")
    assert (russian["title"], russian["detail"]) == ("Не найдено", f"нет отправки {MISSING}")
    chinese = _problem(api.client.get(path, headers=api.forwarder | ZH), 404, "not-found",
                       "zh-Hans")
    assert (chinese["title"], chinese["detail"]) == ("未找到", f"没有货运 {MISSING}")


def test_a_bad_cursor(api: Api) -> None:
    params = {"cursor": "not-a-cursor"}
    english = _problem(api.client.get("/v1/shipments", params=params, headers=api.forwarder),
                       422, "request-invalid", "en")
    [error] = english["errors"]
    assert error["field"] == "query.cursor"
    assert error["message"].startswith("must match the pattern ")
    pattern = error["message"].removeprefix("must match the pattern ")
    russian = _problem(api.client.get("/v1/shipments", params=params,
                                      headers=api.forwarder | RU), 422, "request-invalid", "ru")
    assert russian["title"] == "Запрос недействителен"
    assert russian["errors"][0]["message"] == f"должно соответствовать шаблону {pattern}"
    assert russian["detail"] == f"query.cursor: должно соответствовать шаблону {pattern}"
    chinese = _problem(api.client.get("/v1/shipments", params=params,
                                      headers=api.forwarder | ZH), 422, "request-invalid",
                       "zh-Hans")
    assert chinese["errors"][0]["message"] == f"必须符合模式 {pattern}"


def test_a_bad_idempotency_key(api: Api) -> None:
    body = {"route": {"origin": "KZ", "destination": "UZ"}, "transport_mode": "road"}
    bad = {"Idempotency-Key": "x" * 256}
    english = _problem(api.client.post("/v1/shipments", json=body,
                                       headers=api.forwarder | bad), 400,
                       "idempotency-key-invalid", "en")
    assert english["title"] == "Bad Idempotency-Key"
    assert english["detail"] == ("the Idempotency-Key header must be 1 to 255 visible ASCII "
                                 "characters")
    russian = _problem(api.client.post("/v1/shipments", json=body,
                                       headers=api.forwarder | bad | RU), 400,
                       "idempotency-key-invalid", "ru")
    assert russian["title"] == "Неверный Idempotency-Key"
    assert russian["detail"] == ("заголовок Idempotency-Key должен состоять из 1–255 видимых "
                                 "символов ASCII")
    chinese = _problem(api.client.post("/v1/shipments", json=body,
                                       headers=api.forwarder | bad | ZH), 400,
                       "idempotency-key-invalid", "zh-Hans")
    assert chinese["title"] == "Idempotency-Key 有误"


def test_a_body_with_two_bad_fields(api: Api) -> None:
    body = {"route": {"origin": "KZ", "destination": "UZ"}, "transport_mode": "road",
            "colour": "red", "references": "BK-1"}
    english = _problem(api.client.post("/v1/shipments", json=body, headers=api.forwarder),
                       422, "request-invalid", "en")
    assert english["title"] == "The shipment is not valid"
    assert {e["field"]: e["message"] for e in english["errors"]} == {
        "body.references": "must be an object", "body.colour": "this field is not allowed here"}
    russian = _problem(api.client.post("/v1/shipments", json=body, headers=api.forwarder | RU),
                       422, "request-invalid", "ru")
    assert russian["title"] == "Отправка недействительна"
    messages = {e["field"]: e["message"] for e in russian["errors"]}
    assert messages == {"body.references": "должно быть объектом",
                        "body.colour": "это поле здесь не допускается"}
    assert russian["detail"] == "; ".join(f"{f}: {m}" for f, m in messages.items())
    chinese = _problem(api.client.post("/v1/shipments", json=body, headers=api.forwarder | ZH),
                       422, "request-invalid", "zh-Hans")
    assert chinese["title"] == "货运无效"


def test_a_route_of_a_non_member(api: Api) -> None:
    body = {"route": {"origin": "FR", "destination": "UZ"}, "transport_mode": "road"}
    english = _problem(api.client.post("/v1/shipments", json=body, headers=api.forwarder),
                       422, "route-invalid", "en")
    assert english["detail"].startswith("origin country 'FR' is not a CAREC member of this "
                                        "exchange (members: ")
    members = english["detail"].partition("(members: ")[2].rstrip(")")
    russian = _problem(api.client.post("/v1/shipments", json=body, headers=api.forwarder | RU),
                       422, "route-invalid", "ru")
    assert russian["detail"] == (f"страна отправления 'FR' не является членом ЦАРЭС в этом "
                                 f"обменном узле (члены: {members})")


def test_a_forbidden_role(api: Api) -> None:
    body = {"route": {"origin": "KZ", "destination": "UZ"}, "transport_mode": "road"}
    english = _problem(api.client.post("/v1/shipments", json=body, headers=api.customs),
                       403, "forbidden", "en")
    assert (english["title"], english["detail"]) == (
        "Forbidden", "only freight forwarders submit shipments and documents; this key "
                     "belongs to a customs party")
    russian = _problem(api.client.post("/v1/shipments", json=body, headers=api.customs | RU),
                       403, "forbidden", "ru")
    assert (russian["title"], russian["detail"]) == (
        "Доступ запрещён", "отправки и документы подают только экспедиторы; этот ключ "
                           "принадлежит участнику вида customs")
    chinese = _problem(api.client.post("/v1/shipments", json=body, headers=api.customs | ZH),
                       403, "forbidden", "zh-Hans")
    assert chinese["detail"] == "只有货运代理可以提交货运和单证；此密钥属于 customs 类参与方"
