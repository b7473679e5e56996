"""Shared by bench/submit.py and bench/growth.py: a throwaway database per engine, an
EXCHANGE_HOME with the UBL pack and a hub identity, and a real `exchange serve`."""
from __future__ import annotations

import contextlib
import os
import statistics
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fixtures.packs import UBL_SOURCE
from tests.fixtures.postgres import PostgresServer
from tests.fixtures.server import make_hub_identity, start_server

__all__ = ["bench_home", "database", "database_server", "percentile", "server_env", "start_server",
           "summary", "tree_cpu_seconds"]


@contextlib.contextmanager
def database(engine: str, folder: Path) -> Iterator[str]:
    with database_server(engine, folder) as (url, _pid):
        yield url


@contextlib.contextmanager
def database_server(engine: str, folder: Path) -> Iterator[tuple[str, int | None]]:
    """(URL, pid of the database server process or None for SQLite)."""
    if engine == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}", None
        return
    server = PostgresServer().start()
    try:
        pid = int((server.data / "postmaster.pid").read_text().split()[0])
        yield server.create_database("bench"), pid
    finally:
        server.stop()


def tree_cpu_seconds(root: int) -> float:
    """CPU time (user + system) used so far by the live processes of *root*'s tree, plus the
    children they have reaped (Linux /proc; 0.0 elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    parent: dict[int, int] = {}
    used: dict[int, int] = {}
    for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else ():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        pid = int(entry.name)
        parent[pid] = int(fields[1])
        used[pid] = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += used.get(pid, 0)
        todo.extend(p for p, pp in parent.items() if pp == pid)
    return total / tick


@contextlib.contextmanager
def bench_home() -> Iterator[Path]:
    """A temporary EXCHANGE_HOME with ubl-2.4 installed and a hub key + certificate."""
    from exchange.validation.packs import SchemaStore

    with tempfile.TemporaryDirectory(prefix="exchange-bench-") as tmp:
        home = Path(tmp)
        SchemaStore(home / "schemas").install("ubl-2.4", str(UBL_SOURCE))
        make_hub_identity(home / "hub")
        yield home


def server_env(home: Path, db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")}
    env.update({"EXCHANGE_HOME": str(home), "EXCHANGE_DATABASE_URL": db_url,
                "EXCHANGE_HUB_KEY_FILE": str(home / "hub" / "hub-key.pem"),
                "EXCHANGE_HUB_CERT_FILE": str(home / "hub" / "hub-cert.pem"),
                "EXCHANGE_HUB_KEY_PASSPHRASE": "hub-pass"})
    return env


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(latencies: list[float]) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, mean ms)."""
    return (percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000,
            statistics.fmean(latencies) * 1000)
