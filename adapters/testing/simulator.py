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
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from fastapi import FastAPI, HTTPException, Request, Response
from starlette.types import Receive, Scope, Send

from adapters.contract import CustomsDecision, EnvelopeSigner
from adapters.messages import RESPONSE_MEDIA_TYPE, render_decisions
from adapters.testing.customs_state import (
    EnvelopeVerifier, FollowUp, Misbehaviour, SimulatorConfig, SimulatorState,
)

if TYPE_CHECKING:
    import uvicorn

__all__ = ["FollowUp", "Misbehaviour", "SimulatorConfig", "SimulatorServer", "SimulatorState",
           "TlsFiles", "UvicornTlsOptions", "create_app", "serve"]


def create_app(config: SimulatorConfig, *, verifier: EnvelopeVerifier | None = None,
               state: SimulatorState | None = None) -> FastAPI:
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

    # (FastAPI takes route annotations as the request and response schemas: a JSON object)
    @api.get("/v1/admin/stats")
    def stats() -> dict[str, object]:
        return dict(state.stats())

    @api.put("/v1/admin/config")
    def reconfigure(changes: dict[str, object]) -> dict[str, object]:
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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"4096"),
                                (b"content-type", RESPONSE_MEDIA_TYPE.encode())]})
        await send({"type": "http.response.body", "body": b"<?xml", "more_body": True})
        raise _DropConnection("simulated dropped connection")


async def _read_limited(request: Request, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
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

    def uvicorn_options(self) -> UvicornTlsOptions:
        import ssl

        options: UvicornTlsOptions = {"ssl_certfile": str(self.certfile),
                                      "ssl_keyfile": str(self.keyfile)}
        if self.client_ca is not None:
            options["ssl_ca_certs"] = str(self.client_ca)
            options["ssl_cert_reqs"] = ssl.CERT_REQUIRED
        return options


class UvicornTlsOptions(TypedDict, total=False):
    """The TLS keyword arguments of ``uvicorn.Config`` and ``uvicorn.run``."""

    ssl_certfile: str
    ssl_keyfile: str
    ssl_ca_certs: str
    ssl_cert_reqs: int


_NO_TLS = UvicornTlsOptions()


class SimulatorServer:
    """A real uvicorn server on 127.0.0.1 (free port by default) in a background thread."""

    def __init__(self, config: SimulatorConfig | None = None, *, host: str = "127.0.0.1",
                 port: int = 0, verifier: EnvelopeVerifier | None = None,
                 tls: TlsFiles | None = None, decision_signer: EnvelopeSigner | None = None):
        self.state = SimulatorState(config or SimulatorConfig(), verifier=verifier,
                                    decision_signer=decision_signer)
        self.host = host
        self.tls = tls
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port = self._sock.getsockname()[1]
        self._server: uvicorn.Server | None = None
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

    def configure(self, **changes: object) -> None:
        self.state.config = self.state.config.updated(changes)

    def start(self) -> SimulatorServer:
        import uvicorn

        app = create_app(self.state.config, state=self.state)
        config = uvicorn.Config(app, log_level="critical", lifespan="off",
                                timeout_graceful_shutdown=1, access_log=False,
                                **(self.tls.uvicorn_options() if self.tls else _NO_TLS))
        server = self._server = uvicorn.Server(config)
        thread = self._thread = threading.Thread(target=server.run,
                                                 kwargs={"sockets": [self._sock]}, daemon=True,
                                                 name=f"customs-simulator-{self.port}")
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
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
          decision_signer: EnvelopeSigner | None = None) -> None:
    """Run the simulator in the foreground until interrupted (``exchange simulate-customs``)."""
    import uvicorn

    state = SimulatorState(config, verifier=verifier, decision_signer=decision_signer)
    uvicorn.run(create_app(config, state=state), host=host, port=port,
                log_level="info", timeout_graceful_shutdown=1,
                **(tls.uvicorn_options() if tls else _NO_TLS))
