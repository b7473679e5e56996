"""The ``https-push`` adapter: POST a (signed) delivery envelope, map the receipt.

Wire protocol (what a national endpoint implements; the customs simulator is the reference):

* ``POST {endpoint}`` with the envelope XML (``schemas/xsd/delivery-envelope.xsd``),
  ``Content-Type: application/vnd.carec.delivery-envelope+xml`` and
  ``Idempotency-Key: <delivery id>``; the receiver drops a delivery id it has seen.
* 2xx with a ``DeliveryReceipt`` (``schemas/xsd/customs-response.xsd``): received ->
  ``delivered`` (``acknowledged`` when it carries an acknowledged decision),
  received-with-warnings -> ``delivered-with-warnings``, duplicate -> as received with
  ``duplicate=True``, rejected -> ``rejected`` with the reasons.
* 4xx with a rejected ``DeliveryReceipt`` -> ``rejected`` (a business answer, not an error).
* Errors (``exc.code``):

  ============================================  =============================================
  408, 429, 5xx (``retry_after`` if given)      Retryable ``adapter.delivery.server-error``
  connection refused                            Retryable ``adapter.delivery.unreachable``
  connect or read timeout                       Retryable ``adapter.delivery.timeout``
  connection dropped mid-answer                 Retryable ``adapter.delivery.connection-dropped``
  TLS handshake refused (certificates)          Retryable ``adapter.delivery.tls``
  any other 4xx                                 Permanent ``adapter.delivery.refused``
  2xx without a receipt for this delivery       Permanent ``adapter.delivery.protocol``
  envelope cannot be signed (nothing sent)      Permanent ``adapter.delivery.signing``
  envelope fails our XSD (nothing sent)         Permanent ``adapter.delivery.payload``
  ============================================  =============================================

* Optional bearer token, read from the environment variable named by ``auth_token_env``.
* Optional mutual TLS: ``ca_bundle`` (trusted CAs of the endpoint), ``client_cert`` and
  ``client_key`` (the hub's client certificate); unreadable files are a SettingError.
* Decisions kept by the national system: ``GET {decisions_url}`` answers ``CustomsDecisions``;
  ``POST {decisions_url}/confirm`` with JSON ``{"decision_ids": [...]}`` releases them.
"""
from __future__ import annotations

import os
import ssl
import threading
from collections.abc import Mapping
from typing import ClassVar

import httpx
from lxml import etree

from adapters.contract import (
    AdapterContext, CustomsDecision, DecisionBatch, DecisionKind, DeliveryEnvelope,
    DeliveryResult, DeliveryStatus, RenderedPayload,
)
from adapters.errors import (
    InvalidMessageError, PermanentDeliveryError, ResponseError, RetryableDeliveryError,
    SettingError,
)
from adapters.messages import (
    ENVELOPE_MEDIA_TYPE, ENVELOPE_NS, RESPONSE_MEDIA_TYPE, envelope_element, read_decisions,
    read_receipt, validate_message,
)
from adapters.settings import (
    Setting, SettingType, SettingValue, flag_setting, number_setting, path_setting, text_setting,
)
from signing.errors import SigningError
from signing.safexml import XmlError, parse_xml

__all__ = ["HttpsPushAdapter", "MAX_RESPONSE_BYTES"]

MAX_RESPONSE_BYTES = 4 * 1024 * 1024
_RETRYABLE_STATUS = {408, 425, 429}


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        from datetime import UTC, datetime
        from email.utils import parsedate_to_datetime

        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def _tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _tls_context(settings: Mapping[str, SettingValue]) -> ssl.SSLContext:
    """Server verification against ca_bundle (else the system store), and the client
    certificate for mutual TLS; unreadable files are a SettingError naming the setting."""
    ca_bundle = path_setting(settings, "ca_bundle")
    client_cert = path_setting(settings, "client_cert")
    client_key = path_setting(settings, "client_key")
    name = "ca_bundle"
    try:
        context = ssl.create_default_context(
            cafile=str(ca_bundle) if ca_bundle else None)
        if client_cert:
            name = "client_cert"
            context.load_cert_chain(str(client_cert),
                                    str(client_key) if client_key else None)
    except (OSError, ssl.SSLError) as exc:
        raise SettingError(f"setting {name!r}: cannot load the TLS files: {exc}",
                           setting=name) from exc
    return context


class HttpsPushAdapter:
    kind: ClassVar[str] = "https-push"
    description: ClassVar[str] = "posts a signed delivery envelope over HTTP(S)"
    settings_spec: ClassVar[tuple[Setting, ...]] = (
        Setting("endpoint", SettingType.URL, required=True,
                help="URL the envelope is POSTed to"),
        Setting("decisions_url", SettingType.URL,
                help="URL where the national system keeps its decisions for pickup"),
        Setting("timeout_seconds", SettingType.FLOAT, default=10.0,
                help="read/write timeout of one attempt"),
        Setting("connect_timeout_seconds", SettingType.FLOAT, default=3.0),
        Setting("client_cert", SettingType.PATH, help="PEM certificate for mutual TLS"),
        Setting("client_key", SettingType.PATH, help="PEM private key for mutual TLS"),
        Setting("ca_bundle", SettingType.PATH, help="CA bundle trusted for the endpoint"),
        Setting("sign", SettingType.BOOL, default=True,
                help="sign envelopes with the hub key when the hub has one"),
        Setting("auth_token_env", SettingType.STR,
                help="name of the environment variable holding a bearer token for the "
                     "endpoint (the token itself never goes in the members file)"),
    )

    def __init__(self, country: str, settings: Mapping[str, SettingValue],
                 context: AdapterContext):
        self.country = country
        self.settings = dict(settings)
        self.context = context
        self._endpoint = text_setting(settings, "endpoint", required=True)
        self._decisions_url = text_setting(settings, "decisions_url")
        self._sign = flag_setting(settings, "sign")
        self._timeout = httpx.Timeout(number_setting(settings, "timeout_seconds"),
                                      connect=number_setting(settings, "connect_timeout_seconds"))
        self._verify: ssl.SSLContext | bool = True
        if path_setting(settings, "ca_bundle") or path_setting(settings, "client_cert"):
            self._verify = _tls_context(settings)
        self._headers: dict[str, str] = {}
        token_env = text_setting(settings, "auth_token_env")
        if token_env:
            token = os.environ.get(token_env)
            if not token:
                raise SettingError(f"setting 'auth_token_env': environment variable "
                                   f"{token_env} is not set",
                                   setting="auth_token_env")
            self._headers["Authorization"] = f"Bearer {token}"
        # One client (and connection pool) per calling thread: the dispatcher's worker
        # threads sharing one pool queue on its lock for every request and every response
        # close, which cost a third of the dispatcher's time in a profile with 8 threads.
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._clients_lock = threading.Lock()
        self._urls: dict[str, httpx.URL] = {}  # parsed once (urlparse: 9 % of httpx's time)

    @classmethod
    def create(cls, *, country: str, settings: Mapping[str, SettingValue],
               context: AdapterContext) -> HttpsPushAdapter:
        return cls(country, settings, context)

    # --- render and deliver --------------------------------------------------------------

    def render(self, envelope: DeliveryEnvelope) -> RenderedPayload:
        root = envelope_element(envelope, hub_id=self.context.hub_id)
        signer = self.context.signer if self._sign else None
        try:  # checked against our XSD before it leaves (after signing, when signed)
            if signer is None:
                validate_message(etree.ElementTree(root), schema="delivery-envelope.xsd",
                                 root=f"{{{ENVELOPE_NS}}}DeliveryEnvelope",
                                 source="rendered envelope")
                body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
            else:
                try:
                    body = signer.sign(etree.tostring(root, xml_declaration=True,
                                                      encoding="UTF-8"))
                except (SigningError, ValueError) as exc:
                    raise PermanentDeliveryError(f"cannot sign the envelope: {exc}",
                                                 code="adapter.delivery.signing") from exc
                validate_message(parse_xml(body), schema="delivery-envelope.xsd",
                                 root=f"{{{ENVELOPE_NS}}}DeliveryEnvelope",
                                 source="signed envelope")
        except InvalidMessageError as exc:
            raise PermanentDeliveryError(f"cannot render the envelope: {exc}",
                                         code="adapter.delivery.payload") from exc
        except XmlError as exc:
            raise PermanentDeliveryError(f"the signed envelope cannot be read: {exc}",
                                         code="adapter.delivery.payload") from exc
        return RenderedPayload(media_type=ENVELOPE_MEDIA_TYPE, body=body,
                               filename=f"{envelope.delivery_id}.xml")

    def deliver(self, envelope: DeliveryEnvelope) -> DeliveryResult:
        payload = self.render(envelope)
        headers = {"Content-Type": payload.media_type, "Accept": RESPONSE_MEDIA_TYPE,
                   "Idempotency-Key": envelope.delivery_id}
        status, body, retry_after = self._exchange("POST", self._endpoint,
                                                   headers=headers, content=payload.body)
        return self._result(envelope.delivery_id, status, body, retry_after)

    def _exchange(self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
                  content: bytes | None = None, json_body: object = None
                  ) -> tuple[int, bytes, float | None]:
        try:
            target = self._urls.get(url)
            if target is None:
                target = self._urls[url] = httpx.URL(url)
            with self._client().stream(method, target, headers=headers, content=content,
                                       json=json_body) as response:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise PermanentDeliveryError(
                            f"{url}: answer larger than {MAX_RESPONSE_BYTES} bytes",
                            code="adapter.delivery.protocol", status_code=response.status_code)
                    chunks.append(chunk)
                return (response.status_code, b"".join(chunks),
                        _retry_after(response.headers.get("retry-after")))
        except httpx.ConnectTimeout as exc:
            raise RetryableDeliveryError(f"{url}: connect timed out",
                                         code="adapter.delivery.timeout") from exc
        except httpx.ConnectError as exc:
            if _tls_failure(exc):
                raise RetryableDeliveryError(f"{url}: TLS handshake failed ({exc})",
                                             code="adapter.delivery.tls") from exc
            raise RetryableDeliveryError(f"{url}: unreachable ({exc})",
                                         code="adapter.delivery.unreachable") from exc
        except httpx.TimeoutException as exc:
            raise RetryableDeliveryError(f"{url}: no answer in time ({type(exc).__name__})",
                                         code="adapter.delivery.timeout") from exc
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError,
                httpx.CloseError) as exc:
            if _tls_failure(exc):  # TLS 1.3: a refused client certificate shows on read
                raise RetryableDeliveryError(f"{url}: TLS refused ({exc})",
                                             code="adapter.delivery.tls") from exc
            raise RetryableDeliveryError(f"{url}: connection dropped ({exc})",
                                         code="adapter.delivery.connection-dropped") from exc
        except httpx.TransportError as exc:
            raise RetryableDeliveryError(f"{url}: transport error ({exc})",
                                         code="adapter.delivery.unreachable") from exc

    def _result(self, delivery_id: str, status: int, body: bytes,
                retry_after: float | None = None) -> DeliveryResult:
        endpoint = self._endpoint
        if status >= 500 or status in _RETRYABLE_STATUS:
            raise RetryableDeliveryError(f"{endpoint} answered {status}",
                                         code="adapter.delivery.server-error",
                                         status_code=status, retry_after=retry_after)
        try:
            receipt = read_receipt(body, source=f"answer of {endpoint}")
        except ResponseError as exc:
            if 200 <= status < 300:
                raise PermanentDeliveryError(f"{endpoint} answered {status} without a "
                                             f"readable receipt: {exc}",
                                             code="adapter.delivery.protocol",
                                             status_code=status) from exc
            raise PermanentDeliveryError(f"{endpoint} refused the delivery with {status}: "
                                         f"{body[:200].decode('utf-8', 'replace')}",
                                         code="adapter.delivery.refused",
                                         status_code=status) from exc
        if receipt.delivery_id != delivery_id:
            raise PermanentDeliveryError(
                f"{endpoint} answered for delivery {receipt.delivery_id!r}, "
                f"not {delivery_id!r}", code="adapter.delivery.protocol", status_code=status)
        if receipt.status == "rejected":
            reason = "; ".join(f"{r.code}: {r.text}" if r.text else r.code
                               for r in receipt.reasons)
            return DeliveryResult(DeliveryStatus.REJECTED, delivery_id, reason=reason,
                                  receipt_reference=receipt.reference,
                                  decisions=receipt.decisions)
        if not 200 <= status < 300:
            raise PermanentDeliveryError(f"{endpoint} answered {status} with a "
                                         f"{receipt.status} receipt",
                                         code="adapter.delivery.protocol", status_code=status)
        if receipt.status == "received-with-warnings" or receipt.warnings:
            result_status = DeliveryStatus.DELIVERED_WITH_WARNINGS
        elif any(d.kind is DecisionKind.ACKNOWLEDGED for d in receipt.decisions):
            result_status = DeliveryStatus.ACKNOWLEDGED
        else:
            result_status = DeliveryStatus.DELIVERED
        return DeliveryResult(result_status, delivery_id, warnings=receipt.warnings,
                              receipt_reference=receipt.reference,
                              duplicate=receipt.status == "duplicate",
                              decisions=receipt.decisions)

    # --- answers ---------------------------------------------------------------------------

    def parse_response(self, data: bytes, *, source: str = "response") -> tuple[
            CustomsDecision, ...]:
        return read_decisions(data, source=source)

    def collect_decisions(self) -> DecisionBatch:
        url = self._decisions_url
        if not url:
            return DecisionBatch()
        status, body, _ = self._exchange("GET", url, headers={"Accept": RESPONSE_MEDIA_TYPE})
        if status != 200:
            raise RetryableDeliveryError(f"{url} answered {status}",
                                         code="adapter.delivery.server-error",
                                         status_code=status)
        try:
            decisions = self.parse_response(body, source=url)
        except ResponseError as exc:
            return DecisionBatch(errors=(exc,))
        foreign = [d for d in decisions if d.country != self.country]
        if foreign:
            return DecisionBatch(errors=(ResponseError(
                f"{url}: decision {foreign[0].decision_id} is for {foreign[0].country}, "
                f"not {self.country}", code="adapter.response.wrong-country"),))
        return DecisionBatch(decisions=decisions,
                             tokens=tuple(dict.fromkeys(d.decision_id for d in decisions)))

    def confirm_collected(self, batch: DecisionBatch) -> None:
        url = self._decisions_url
        if not url or not batch.tokens:
            return
        status, _, _ = self._exchange("POST", url.rstrip("/") + "/confirm",
                                      json_body={"decision_ids": list(batch.tokens)})
        if status >= 300:
            raise RetryableDeliveryError(f"{url}/confirm answered {status}",
                                         code="adapter.delivery.server-error",
                                         status_code=status)

    def _client(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = httpx.Client(
                timeout=self._timeout, verify=self._verify, follow_redirects=False,
                trust_env=False, headers=self._headers)
            with self._clients_lock:
                self._clients.append(client)
        return client

    def close(self) -> None:
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()

