"""The one-command demo: a whole corridor on one machine (``exchange demo``).

Sets up a demo exchange under ``$EXCHANGE_HOME/demo`` and runs it until interrupted:

1. installs the UBL 2.4 schema pack (from a local folder when given, else the official
   download);
2. makes a demo PKI — one demo CA per member country, clearly named "CAREC demo" — and
   writes each member's trust folder;
3. writes a demo members file: the shipped one with its push endpoints moved to free
   loopback ports, where customs simulators for the countries whose adapters push are
   started, and EDIFACT simulators for the file-channel countries;
4. creates a fresh SQLite store with parties of every role and prints their API keys;
5. starts the exchange (API, dashboard, dispatcher) and submits two demo shipments
   KZ -> UZ -> AF made from the official UBL examples (:mod:`exchange.showcase.corridor`),
   signed by the forwarder's demo key: one whose dossier is consistent, one with a single,
   explained inconsistency;
6. tells how to point the CLI at the demo's data (:meth:`Demo.environment`).

Ctrl-C (SIGINT or SIGTERM) stops everything it started.
"""
from __future__ import annotations

import logging
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any


from exchange.i18n import Text, t
from exchange.showcase.corridor import (
    CORRIDOR, DOCUMENTS, MISMATCH, Corridor, corridor_documents,
)

if TYPE_CHECKING:
    from adapters.members import Members
    from signing.demopki import DemoPKI

    from exchange.services import Services

__all__ = ["DemoOptions", "Demo", "DEMO_DOCUMENTS"]

log = logging.getLogger(__name__)

DEMO_DOCUMENTS = DOCUMENTS
PARTIES = (  # (kind, name, country)
    ("forwarder", "Silk Road Forwarding LLP (demo)", "KZ"),
    ("customs", "State Revenue Committee of Kazakhstan (demo)", "KZ"),
    ("customs", "Customs Committee of Uzbekistan (demo)", "UZ"),
    ("customs", "Afghanistan Customs Department (demo)", "AF"),
    ("operator", "CAREC exchange operator (demo)", None),
    ("payment-provider", "Corridor Bank (demo)", None),
)


def free_port(preferred: int | None = None) -> int:
    for port in ((preferred,) if preferred else ()) + (0,):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            bound: int = s.getsockname()[1]
            return bound
    raise OSError("no free port")


@dataclass
class DemoOptions:
    home: Path
    standards: Path | None = None
    port: int = 8080
    say: Callable[[Text], None] = lambda text: print(text)  # noqa: E731 - English


@dataclass
class Demo:
    options: DemoOptions
    base_url: str = ""
    keys: list[tuple[str, str, str, str]] = field(default_factory=list)
    shipment_id: str | None = None
    shipment_ids: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _stoppers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return self.options.home / "demo"

    # ------------------------------------------------------------------ setup
    def install_schemas(self) -> None:
        from exchange.validation.packs import SchemaStore

        store = SchemaStore(self.options.home / "schemas")
        if store.is_installed("ubl-2.4"):
            return
        source = str(self.options.standards) if self.options.standards else None
        self.options.say(t("installing the UBL 2.4 schema pack from {source} ...",
                           source=source) if source else t(
            "installing the UBL 2.4 schema pack from the official OASIS download ..."))
        store.install("ubl-2.4", source)

    def make_pki(self, members: Members) -> DemoPKI:
        from signing.demopki import DemoPKI

        pki = DemoPKI(self.folder / "pki")
        pki.trust_dir(self.options.home / "trust", list(members.countries))
        return pki

    def write_members(self) -> tuple[Path, dict[str, int]]:
        """The shipped members file with push endpoints on free ports; {country: port}."""
        from adapters.members import default_members_path

        text = default_members_path().read_text(encoding="utf-8")
        ports: dict[str, int] = {}

        def section(match: re.Match[str]) -> str:
            country, body = match.group(1), match.group(2)
            if "endpoint" not in body:
                return match.group(0)
            port = ports.setdefault(country, free_port())
            body = re.sub(r"http://127\.0\.0\.1:\d+", f"http://127.0.0.1:{port}", body)
            return f"[members.{country}.settings]{body}"

        text = re.sub(r"\[members\.([A-Z]{2})\.settings\]((?:\n(?!\[)[^\n]*)*)", section, text)
        from exchange.paths import write_private

        path = write_private(self.folder / "members.toml", text.encode("utf-8"))
        return path, ports

    # -------------------------------------------------------------- run
    def start(self) -> None:
        """Set everything up and start the servers (returns once they are up)."""
        import os

        from adapters.members import load_members

        from exchange.paths import private_dir

        home = self.options.home
        if self.folder.exists():
            shutil.rmtree(self.folder)
        private_dir(self.folder)  # 0700, and the data directory too if it is new
        self.install_schemas()
        members_file, ports = self.write_members()
        os.environ["EXCHANGE_MEMBERS_FILE"] = str(members_file)
        os.environ["EXCHANGE_DATABASE_URL"] = f"sqlite:///{self.folder / 'exchange.db'}"
        members = load_members(members_file, base_dir=home)
        pki = self.make_pki(members)
        self.options.say(t("demo PKI: a demo CA per member country in {folder}",
                           folder=str(self.folder / "pki")))
        self._start_simulators(members, ports)
        services = self._start_exchange(members)
        self._make_parties(services)
        self.forwarder_signer = pki.leaf("KZ", cn="Silk Road Forwarding LLP (demo signer)")

    def _start_simulators(self, members: Members, ports: dict[str, int]) -> None:
        from adapters.testing.edifact_simulator import EdifactCustomsSimulator
        from adapters.testing.simulator import FollowUp, SimulatorConfig, SimulatorServer

        for country, port in ports.items():
            server = SimulatorServer(SimulatorConfig(
                country=country, currency=members[country].currency,
                follow_up=(FollowUp.ASSESSMENT,), decision_delay_seconds=2.0),
                port=port).start()
            self._stoppers.append(server.stop)
            self.options.say(t("customs simulator for {country} on {url}", country=country,
                               url=server.base_url))
        from adapters.settings import path_setting

        for member in members:
            if member.adapter != "edifact-file":
                continue
            sim = EdifactCustomsSimulator(
                path_setting(member.settings, "outbox_dir", required=True),
                path_setting(member.settings, "inbox_dir", required=True), country=member.code,
                currency=member.currency)
            thread = threading.Thread(target=sim.serve, args=(self._stop,),
                                      kwargs={"poll_seconds": 1.0}, daemon=True,
                                      name=f"edifact-simulator-{member.code}")
            thread.start()
            self._threads.append(thread)
            self.options.say(t("EDIFACT customs simulator for {country} on {folder}",
                               country=member.code, folder=str(member.settings["outbox_dir"])))

    def _start_exchange(self, members: Members) -> Services:
        import uvicorn

        from exchange.bootstrap import build_app, build_dispatcher, build_services, server_options
        from exchange.config import load_settings
        from exchange.delivery.dispatcher import run_dispatcher

        settings = load_settings()
        services = build_services(settings, members=members)
        port = free_port(self.options.port)
        app = build_app(settings, services=services)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", access_log=False,
                                               **server_options(settings)))
        thread = threading.Thread(target=server.run, daemon=True, name="exchange-api")
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the exchange did not start; see the log above")
            time.sleep(0.05)
        self._threads.append(thread)
        self._stoppers.append(lambda: setattr(server, "should_exit", True))
        self.base_url = f"http://127.0.0.1:{port}"
        dispatcher, collector = build_dispatcher(
            settings, services.uow, members, gates=services.decision_gates,
            checker=services.checker)
        d = settings.dispatch
        worker = threading.Thread(target=run_dispatcher, args=(dispatcher, collector, self._stop),
                                  kwargs={"poll_seconds": d.poll_seconds,
                                          "collect_seconds": 1.0},
                                  daemon=True, name="exchange-dispatcher")
        worker.start()
        self._threads.append(worker)
        self._stoppers.append(dispatcher.close)
        self.services = services
        return services

    def _make_parties(self, services: Services) -> None:
        from exchange.domain import PartyKind
        from exchange.parties.keys import add_party

        with services.uow.writing() as uow:
            for kind, name, country in PARTIES:
                _, key = add_party(uow, kind=PartyKind(kind), name=name, country=country,
                                       members=services.member_codes)
                self.keys.append((kind, country or "", name, key.token))
            uow.commit()

    def key_of(self, kind: str, country: str = "") -> str:
        return next(k for (kd, cc, _, k) in self.keys if kd == kind and cc == country)

    def submit_shipment(self, corridor: Corridor = CORRIDOR) -> dict[str, Any]:
        """Submit a demo shipment over the HTTP API, documents signed by the forwarder."""
        import json

        import httpx
        from lxml import etree

        from signing import Signer

        from exchange.validation.packs import SchemaStore
        from exchange.validation import Validator

        examples = self.options.home / "schemas" / "ubl-2.4" / "xml"
        validator = Validator(SchemaStore(self.options.home / "schemas"))
        signer = Signer(self.forwarder_signer.identity())
        files = []
        for name, tree in corridor_documents(examples, corridor):
            ns = etree.QName(tree.getroot()).namespace
            if ns is None:  # the shipped UBL examples all have one
                raise RuntimeError(f"{name}: the demo document has no namespace")
            signed = signer.sign(tree, schema=validator.schema_path(ns))
            data = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
            files.append(("documents", (name, data, "application/xml")))
        shipment = {"route": {"origin": corridor.origin, "transit": list(corridor.transit),
                              "destination": corridor.destination},
                    "transport_mode": "road",
                    "references": {"consignment": corridor.consignment_id}}
        answer = httpx.post(f"{self.base_url}/v1/shipments", timeout=120,
                            headers={"Authorization": f"Bearer {self.key_of('forwarder', 'KZ')}",
                                     "Idempotency-Key": f"demo-{corridor.shipment_id}"},
                            data={"shipment": json.dumps(shipment)}, files=files)
        if answer.status_code != 201:
            raise RuntimeError(f"the demo shipment was refused ({answer.status_code}): "
                               f"{answer.text[:2000]}")
        body: dict[str, Any] = answer.json()
        self.shipment_ids.append(body["id"])
        self.shipment_id = self.shipment_id or body["id"]
        return body

    def submit_mismatch(self) -> dict[str, Any]:
        """The second demo shipment: one real inconsistency, which its dossier explains."""
        return self.submit_shipment(MISMATCH)

    def environment(self) -> dict[str, str]:
        """The settings that point the ``exchange`` command at the demo's data."""
        return {"EXCHANGE_HOME": str(self.options.home),
                "EXCHANGE_DATABASE_URL": f"sqlite:///{self.folder / 'exchange.db'}",
                "EXCHANGE_MEMBERS_FILE": str(self.folder / "members.toml")}

    def deliveries_settled(self) -> bool:
        from exchange.store.deliveries import OPEN_STATUSES

        if not self.shipment_ids:  # not submitted yet: nothing to settle
            return False
        with self.services.uow.reading() as uow:
            rows = [row for shipment in self.shipment_ids
                    for row in uow.deliveries.for_shipment(shipment)]
        return bool(rows) and all(r.status not in OPEN_STATUSES for r in rows)

    def wait(self) -> None:
        self._stop.wait()

    def stop(self) -> None:
        self._stop.set()
        for stop in reversed(self._stoppers):
            try:
                stop()
            except Exception:  # stopping is best effort, one failure must not block others
                log.exception("stopping a demo part failed")
        for thread in self._threads:
            thread.join(timeout=10)
        services = getattr(self, "services", None)
        if services is not None:
            services.close()
