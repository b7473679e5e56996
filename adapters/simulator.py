"""A national customs system stand-in, over real HTTP, for demos, tests and the kit.

    app = create_app(SimulatorConfig(country="UZ"))      # FastAPI application
    with SimulatorServer(SimulatorConfig(country="UZ")) as sim:   # uvicorn on 127.0.0.1:free
        sim.push_url, sim.decisions_url, sim.state.stats()

Endpoints (the protocol of :mod:`adapters.https_push`):

* ``POST /v1/deliveries``: a delivery envelope. Parsed safely, validated against the XSD,
  checked for the receiving country (and the hub signature when a verifier is configured).
  A delivery id seen before is dropped and answered ``duplicate`` (idempotent receiver).
  New ones get a receipt carrying an ``acknowledged`` decision (or ``rejected`` with 422
  when ``push_answer="reject"``); malformed or unsafe envelopes get 400.
* ``GET /v1/decisions``: follow-up decisions whose delay has passed (assessment, query,
  rejection, acceptance, release, as configured); ``POST /v1/decisions/confirm`` with
  ``{"decision_ids": [...]}`` forgets them. With ``callback_url`` they are also POSTed there.
* ``GET /v1/admin/stats`` counts what it saw; ``PUT /v1/admin/config`` changes behaviour.

Misbehaviour (``misbehaviour``, for the first ``misbehave_times`` pushes, 0 = always):
``timeout`` (records, then hangs), ``500``, ``drop-connection`` (records, then closes the
connection mid-answer), ``slow`` (records, answers after ``slow_seconds``) and
``answer-twice`` (every follow-up decision is served / called back twice).
"""
from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import itertools
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from lxml import etree

from adapters.contract import CustomsDecision, DecisionKind, DeliveryEnvelope, DutyLine, Reason
from adapters.errors import InvalidMessageError
from adapters.messages import (
    RESPONSE_MEDIA_TYPE, Receipt, read_envelope, render_decisions, render_receipt,
)
from signing.safexml import XmlError, parse_xml

__all__ = ["Misbehaviour", "FollowUp", "SimulatorConfig", "SimulatorState", "create_app",
           "TlsFiles", "SimulatorServer", "serve"]


class Misbehaviour(StrEnum):
    NONE = "none"
    TIMEOUT = "timeout"
    ERROR_500 = "500"
    DROP_CONNECTION = "drop-connection"
    SLOW = "slow"
    ANSWER_TWICE = "answer-twice"


class FollowUp(StrEnum):
    ASSESSMENT = "assessment"
    QUERY = "query"
    REJECTION = "rejection"
    ACCEPTANCE = "acceptance"
    RELEASE = "release"


@dataclass(frozen=True)
class SimulatorConfig:
    country: str = "UZ"
    currency: str = "UZS"
    push_answer: str = "acknowledge"
    """acknowledge | reject (422 with a rejected receipt)"""
    follow_up: tuple[FollowUp, ...] = (FollowUp.ASSESSMENT,)
    decision_delay_seconds: float = 0.0
    misbehaviour: Misbehaviour = Misbehaviour.NONE
    misbehave_times: int = 0
    hang_seconds: float = 30.0
    slow_seconds: float = 1.0
    callback_url: str | None = None
    max_body_bytes: int = 25 * 1024 * 1024
    retry_after_seconds: int | None = None
    """With misbehaviour "500": also answer ``Retry-After: <seconds>``."""
    bearer_token: str | None = None
    """When set, pushes without ``Authorization: Bearer <token>`` are answered 401."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "misbehaviour", Misbehaviour(self.misbehaviour))
        object.__setattr__(self, "follow_up", tuple(FollowUp(f) for f in self.follow_up))
        if self.push_answer not in ("acknowledge", "reject"):
            raise ValueError("push_answer must be acknowledge or reject")
        if self.misbehave_times < 0 or self.decision_delay_seconds < 0:
            raise ValueError("misbehave_times and decision_delay_seconds must be >= 0")

    def updated(self, changes: dict[str, Any]) -> SimulatorConfig:
        names = {f.name for f in dataclasses.fields(self)} - {"country"}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown simulator settings: {', '.join(sorted(unknown))}")
        if "follow_up" in changes and isinstance(changes["follow_up"], str):
            changes = {**changes, "follow_up": tuple(
                f for f in changes["follow_up"].split(",") if f)}
        return dataclasses.replace(self, **changes)


EnvelopeVerifier = Callable[[etree._ElementTree, DeliveryEnvelope], None]
"""Raises ValueError (or a subclass) when the envelope's signature does not verify."""


@dataclass
class SimulatorState:
    """What the simulator saw and what it will answer; safe across threads."""

    config: SimulatorConfig
    verifier: EnvelopeVerifier | None = None
    decision_signer: Any = None
    """An EnvelopeSigner (e.g. HubEnvelopeSigner with the customs key) that signs every
    follow-up decision served by GET /v1/decisions or called back."""
    pushes: int = 0
    duplicates: int = 0
    invalid: int = 0
    misbehaved: int = 0
    deliveries: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: list[tuple[float, CustomsDecision]] = field(default_factory=list)
    confirmed: set[str] = field(default_factory=set)
    callbacks: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1), repr=False)

    def take_misbehaviour(self) -> Misbehaviour:
        with self._lock:
            self.pushes += 1
            cfg = self.config
            if cfg.misbehaviour in (Misbehaviour.NONE, Misbehaviour.ANSWER_TWICE):
                return Misbehaviour.NONE
            if cfg.misbehave_times and self.misbehaved >= cfg.misbehave_times:
                return Misbehaviour.NONE
            self.misbehaved += 1
            return cfg.misbehaviour

    def receive(self, body: bytes, idempotency_key: str | None) -> tuple[int, bytes, list[
            CustomsDecision]]:
        """Judge one push: (HTTP status, answer bytes, follow-up decisions scheduled)."""
        try:
            envelope, tree = read_envelope(body, source="envelope")
            if idempotency_key and idempotency_key != envelope.delivery_id:
                raise InvalidMessageError("Idempotency-Key differs from DeliveryId",
                                          code="adapter.message.inconsistent")
            if self.verifier is not None:
                self.verifier(tree, envelope)
        except (InvalidMessageError, ValueError) as exc:
            with self._lock:
                self.invalid += 1
            code = getattr(exc, "code", "signature")
            return 400, f"{code}: {exc}".encode(), []
        cfg = self.config
        with self._lock:
            seen = self.deliveries.get(envelope.delivery_id)
            if seen is not None:
                self.duplicates += 1
                seen["copies"] += 1
                return 200, render_receipt(Receipt(envelope.delivery_id, "duplicate",
                                                   reference=seen["reference"])), []
            refusal = _refusal(envelope, cfg)
            if refusal is not None:
                reason = refusal
                self.deliveries[envelope.delivery_id] = {
                    "reference": None, "copies": 1, "rejected": True,
                    "document_id": envelope.document_id, "document_type": envelope.document_type}
                return 422, render_receipt(Receipt(envelope.delivery_id, "rejected",
                                                   reasons=(reason,))), []
            number = next(self._seq)
            reference = f"{cfg.country}{datetime.now(UTC):%Y}{number:07d}"
            self.deliveries[envelope.delivery_id] = {
                "reference": reference, "copies": 1, "rejected": False,
                "document_id": envelope.document_id, "document_type": envelope.document_type,
                "shipment_id": envelope.shipment_id}
            ack = self._decision(envelope, reference, DecisionKind.ACKNOWLEDGED)
            follow = [self._follow_up(envelope, reference, f) for f in cfg.follow_up]
            copies = 2 if cfg.misbehaviour is Misbehaviour.ANSWER_TWICE else 1
            due = time.monotonic() + cfg.decision_delay_seconds
            for decision in follow:
                self.pending.extend([(due, decision)] * copies)
        return 200, render_receipt(Receipt(envelope.delivery_id, "received",
                                           reference=reference, decisions=(ack,))), follow

    def due_decisions(self) -> list[CustomsDecision]:
        now = time.monotonic()
        with self._lock:
            return [d for due, d in self.pending
                    if due <= now and d.decision_id not in self.confirmed]

    def confirm(self, ids: list[str]) -> int:
        with self._lock:
            before = len(self.pending)
            self.confirmed.update(ids)
            self.pending = [(due, d) for due, d in self.pending if d.decision_id not in ids]
            return before - len(self.pending)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"country": self.config.country, "pushes": self.pushes,
                    "deliveries": len(self.deliveries), "duplicates": self.duplicates,
                    "invalid": self.invalid, "misbehaved": self.misbehaved,
                    "pending_decisions": len(self.pending),
                    "delivery_ids": sorted(self.deliveries),
                    "callbacks": len(self.callbacks)}

    def _decision(self, envelope: DeliveryEnvelope, reference: str, kind: DecisionKind,
                  **extra: Any) -> CustomsDecision:
        return CustomsDecision(kind=kind, country=self.config.country,
                               decision_id=f"{self.config.country}-{uuid.uuid4().hex[:16]}",
                               customs_reference=reference, delivery_id=envelope.delivery_id,
                               shipment_id=envelope.shipment_id,
                               document_id=envelope.document_id,
                               issued_at=datetime.now(UTC).replace(microsecond=0), **extra)

    def _follow_up(self, envelope: DeliveryEnvelope, reference: str,
                   follow: FollowUp) -> CustomsDecision:
        match follow:
            case FollowUp.ASSESSMENT:
                base = _declared_value(envelope.document)
                lines = tuple(DutyLine(tax, str(base), rate,
                                       str((base * Decimal(rate) / 100).quantize(
                                           Decimal("0.01"))), self.config.currency)
                              for tax, rate in (("customs-duty", "5"), ("vat", "12")))
                return self._decision(envelope, reference, DecisionKind.ASSESSMENT,
                                      duty_lines=lines)
            case FollowUp.QUERY:
                return self._decision(envelope, reference, DecisionKind.QUERY,
                                      text="Please provide the packing list of this shipment")
            case FollowUp.REJECTION:
                return self._decision(envelope, reference, DecisionKind.REJECTED, reasons=(
                    Reason("SIM-R02", "declared value could not be verified"),))
            case FollowUp.ACCEPTANCE:
                return self._decision(envelope, reference, DecisionKind.ACCEPTED)
            case FollowUp.RELEASE:
                return self._decision(envelope, reference, DecisionKind.RELEASED)
        raise AssertionError(follow)  # pragma: no cover


def _refusal(envelope: DeliveryEnvelope, cfg: SimulatorConfig) -> Reason | None:
    """Why the simulated national system refuses this delivery, if it does."""
    if envelope.receiver_country != cfg.country:
        return Reason("SIM-COUNTRY", f"not for {cfg.country}")
    try:
        root = parse_xml(envelope.document).getroot()
    except XmlError as exc:
        return Reason("SIM-DOCUMENT", f"the document cannot be read: {exc.message}")
    if etree.QName(root).localname != envelope.document_type:
        return Reason("SIM-TYPE", f"the document is a {etree.QName(root).localname}, "
                                  f"not a {envelope.document_type}")
    if cfg.push_answer == "reject":
        return Reason("SIM-R01", "refused by the simulated national system")
    return None


def _declared_value(document: bytes) -> Decimal:
    """The declared customs value (or payable amount) of a UBL document, else 1000.00."""
    try:
        root = parse_xml(document).getroot()
    except XmlError:
        return Decimal("1000.00")
    for name in ("DeclaredCustomsValueAmount", "PayableAmount", "LineExtensionAmount"):
        for el in root.iter(f"{{*}}{name}"):
            try:
                value = Decimal((el.text or "").strip())
            except ArithmeticError:
                continue
            if value.is_finite() and value > 0:
                return value.quantize(Decimal("0.01"))
    return Decimal("1000.00")


def create_app(config: SimulatorConfig, *, verifier: EnvelopeVerifier | None = None,
               state: SimulatorState | None = None) -> Any:
    """The FastAPI application of one simulated national customs system."""
    state = state or SimulatorState(config, verifier=verifier)
    api = FastAPI(title=f"Customs simulator ({config.country})", version="1")
    api.state.sim = state

    @api.post("/v1/deliveries")
    async def push(request: Request) -> Response:
        token = state.config.bearer_token
        if token and not hmac.compare_digest(request.headers.get("authorization", ""),
                                             f"Bearer {token}"):
            return Response("missing or wrong bearer token", status_code=401,
                            media_type="text/plain")
        body = await _read_limited(request, state.config.max_body_bytes)
        if body is None:
            return Response("body too large", status_code=413, media_type="text/plain")
        mode = state.take_misbehaviour()
        if mode is Misbehaviour.ERROR_500:
            after = state.config.retry_after_seconds
            return Response("simulated failure", status_code=500 if after is None else 503,
                            media_type="text/plain",
                            headers={} if after is None else {"Retry-After": str(after)})
        status, answer, follow = state.receive(body, request.headers.get("idempotency-key"))
        if follow and state.config.callback_url:
            asyncio.get_running_loop().create_task(_call_back(state, follow))
        if mode is Misbehaviour.TIMEOUT:
            await asyncio.sleep(state.config.hang_seconds)
        elif mode is Misbehaviour.SLOW:
            await asyncio.sleep(state.config.slow_seconds)
        elif mode is Misbehaviour.DROP_CONNECTION:
            return _DroppedResponse()
        media = RESPONSE_MEDIA_TYPE if status != 400 else "text/plain"
        return Response(answer, status_code=status, media_type=media)

    @api.get("/v1/decisions")
    def decisions() -> Response:
        return Response(render_decisions(state.due_decisions(), signer=state.decision_signer),
                        media_type=RESPONSE_MEDIA_TYPE)

    @api.post("/v1/decisions/confirm")
    def confirm(payload: dict[str, list[str]]) -> dict[str, int]:
        ids = payload.get("decision_ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise HTTPException(422, "decision_ids must be a list of strings")
        return {"confirmed": state.confirm(ids)}

    @api.get("/v1/admin/stats")
    def stats() -> dict[str, Any]:
        return state.stats()

    @api.put("/v1/admin/config")
    def reconfigure(changes: dict[str, Any]) -> dict[str, Any]:
        try:
            state.config = state.config.updated(changes)
        except (TypeError, ValueError) as exc:
            raise HTTPException(422, str(exc)) from exc
        return dataclasses.asdict(state.config)

    return api


class _DropConnection(Exception):
    """Raised after an answer has started: the server closes the connection mid-answer."""


class _DroppedResponse(Response):
    """Starts an answer, sends a few bytes of it and breaks the connection off."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"4096"),
                                (b"content-type", RESPONSE_MEDIA_TYPE.encode())]})
        await send({"type": "http.response.body", "body": b"<?xml", "more_body": True})
        raise _DropConnection("simulated dropped connection")


async def _read_limited(request: Any, limit: int) -> bytes | None:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _call_back(state: SimulatorState, decisions: list[CustomsDecision]) -> None:
    import httpx

    await asyncio.sleep(state.config.decision_delay_seconds)
    copies = 2 if state.config.misbehaviour is Misbehaviour.ANSWER_TWICE else 1
    body = render_decisions(decisions, signer=state.decision_signer)
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        for _ in range(copies):
            try:
                await client.post(state.config.callback_url or "", content=body,
                                  headers={"Content-Type": RESPONSE_MEDIA_TYPE})
                state.callbacks.append(hashlib.sha256(body).hexdigest())
            except httpx.HTTPError:
                pass  # the hub can still collect them from GET /v1/decisions


@dataclass(frozen=True)
class TlsFiles:
    """Server certificate and key (PEM); with ``client_ca`` clients must present a
    certificate issued by it (mutual TLS)."""

    certfile: Path
    keyfile: Path
    client_ca: Path | None = None

    def uvicorn_options(self) -> dict[str, Any]:
        import ssl

        options: dict[str, Any] = {"ssl_certfile": str(self.certfile),
                                   "ssl_keyfile": str(self.keyfile)}
        if self.client_ca is not None:
            options.update(ssl_ca_certs=str(self.client_ca), ssl_cert_reqs=ssl.CERT_REQUIRED)
        return options


class SimulatorServer:
    """A real uvicorn server on 127.0.0.1 (free port by default) in a background thread."""

    def __init__(self, config: SimulatorConfig | None = None, *, host: str = "127.0.0.1",
                 port: int = 0, verifier: EnvelopeVerifier | None = None,
                 tls: TlsFiles | None = None, decision_signer: Any = None):
        self.state = SimulatorState(config or SimulatorConfig(), verifier=verifier,
                                    decision_signer=decision_signer)
        self.host = host
        self.tls = tls
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port = self._sock.getsockname()[1]
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def push_url(self) -> str:
        return f"{self.base_url}/v1/deliveries"

    @property
    def decisions_url(self) -> str:
        return f"{self.base_url}/v1/decisions"

    def configure(self, **changes: Any) -> None:
        self.state.config = self.state.config.updated(changes)

    def start(self) -> SimulatorServer:
        import uvicorn

        app = create_app(self.state.config, state=self.state)
        config = uvicorn.Config(app, log_level="critical", lifespan="off",
                                timeout_graceful_shutdown=1, access_log=False,
                                **(self.tls.uvicorn_options() if self.tls else {}))
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._sock]}, daemon=True,
                                        name=f"customs-simulator-{self.port}")
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the customs simulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(config: SimulatorConfig, *, host: str = "127.0.0.1", port: int = 8701,
          verifier: EnvelopeVerifier | None = None, tls: TlsFiles | None = None,
          decision_signer: Any = None) -> None:
    """Run the simulator in the foreground until interrupted (``exchange simulate-customs``)."""
    import uvicorn

    state = SimulatorState(config, verifier=verifier, decision_signer=decision_signer)
    uvicorn.run(create_app(config, state=state), host=host, port=port,
                log_level="info", timeout_graceful_shutdown=1,
                **(tls.uvicorn_options() if tls else {}))
