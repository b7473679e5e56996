"""Benchmark of the typed answers (issue 15): what checking an answer against its model costs.

    .venv/bin/python bench/api_models.py [--rounds 2000]

A route that returned ``dict[str, Any]`` had FastAPI check and serialize its answer as a
``dict[str, Any]``; with ``response_model=ShipmentOut`` (etc.) FastAPI checks it against the
model and serializes that. Both are pydantic-core work on the request's thread. This runs a
real `exchange serve` (SQLite) with a shipment of the four corridor documents (UBL examples,
with their validation and signature reports), reads ``GET /v1/shipments/{id}`` and the UZ
customs inbox once, then times, side by side on the same answers, validate + serialize as
``dict[str, Any]`` (before) and as the model (after), as FastAPI does (its ``ModelField``),
and prints the time per answer and the ratio after / before.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from pydantic import TypeAdapter

from exchange.api.models import InboxOut, ShipmentOut
from exchange.validation.packs import SchemaStore
from tests.fixtures.corridor import corridor_documents
from tests.fixtures.packs import UBL_SOURCE
from tests.fixtures.server import add_party_cli, make_hub_identity, start_server


def answers(folder: Path) -> dict[str, tuple[type, Any]]:
    key, cert = make_hub_identity(folder / "hub")
    SchemaStore(folder / "home" / "schemas").install("ubl-2.4", str(UBL_SOURCE))
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")}
    env.update(EXCHANGE_HOME=str(folder / "home"),
               EXCHANGE_DATABASE_URL=f"sqlite:///{folder / 'x.db'}",
               EXCHANGE_HUB_KEY_FILE=str(key), EXCHANGE_HUB_CERT_FILE=str(cert),
               EXCHANGE_HUB_KEY_PASSPHRASE="hub-pass")
    if "EXCHANGE_SHARED_DIR" in os.environ:
        env["EXCHANGE_SHARED_DIR"] = os.environ["EXCHANGE_SHARED_DIR"]
    forwarder = add_party_cli(env, "forwarder", "bench")[2]
    customs = add_party_cli(env, "customs", "bench UZ", "UZ")[2]
    server = start_server(env, log_path=folder / "server.log")
    try:
        meta = {"route": {"origin": "KG", "transit": ["UZ"], "destination": "AF"},
                "transport_mode": "road"}
        files = [("shipment", (None, json.dumps(meta), "application/json"))]
        files += [("documents", (f"{root}.xml", data, "application/xml"))
                  for root, data in corridor_documents().items()]
        with httpx.Client(base_url=server.base_url, timeout=120) as c:
            auth = {"Authorization": f"Bearer {forwarder}"}
            made = c.post("/v1/shipments", files=files, headers=auth)
            made.raise_for_status()
            shipment = c.get(f"/v1/shipments/{made.json()['id']}", headers=auth).json()
            inbox = c.get("/v1/customs/UZ/inbox",
                          headers={"Authorization": f"Bearer {customs}"}).json()
    finally:
        server.stop()
    return {"GET /v1/shipments/{id}": (ShipmentOut, shipment),
            "GET /v1/customs/UZ/inbox": (InboxOut, inbox)}


def per_answer(adapter: TypeAdapter[Any], body: Any, rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        adapter.dump_json(adapter.validate_python(body), by_alias=True)
    return (time.perf_counter() - start) / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bodies = answers(Path(tmp))
    untyped: TypeAdapter[Any] = TypeAdapter(dict[str, Any])
    print(f"{'answer':28} {'bytes':>7} {'dict[str, Any]':>15} {'model':>10} {'ratio':>6}")
    for name, (model, body) in bodies.items():
        typed: TypeAdapter[Any] = TypeAdapter(model)
        assert json.loads(typed.dump_json(typed.validate_python(body), by_alias=True)) == body
        before = per_answer(untyped, body, args.rounds)
        after = per_answer(typed, body, args.rounds)
        print(f"{name:28} {len(json.dumps(body)):>7} {before * 1e6:>12.1f} us "
              f"{after * 1e6:>7.1f} us {after / before:>6.2f}")


if __name__ == "__main__":
    main()
