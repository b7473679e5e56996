"""Prometheus metrics at ``/metrics`` and the figures of the operator's health page.

HTTP request counts and durations are observed by the request-id middleware; the delivery
figures (queue depth, latency, errors) are read from the outbox when scraped, so they are
right whichever process (``exchange serve`` or ``exchange dispatch``) moved the rows. Each
application has its own registry (several apps in one test process never collide).

Who may read them is a setting (``EXCHANGE_SERVER_METRICS``, see
:mod:`exchange.http.observability`): an operator's API key on ``/metrics`` (the default),
anyone on ``/metrics``, or anyone on a listener of its own on 127.0.0.1
(:class:`MetricsListener`), with no ``/metrics`` on the main port.
"""
from __future__ import annotations

import http.server
import logging
import socket
import statistics
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from exchange.store.outages import log_failure


if TYPE_CHECKING:
    from prometheus_client.core import Metric

    from exchange.services import Services

__all__ = ["Health", "Metrics", "MetricsListener", "read_health"]

log = logging.getLogger(__name__)
_LISTENING = "metrics served on http://127.0.0.1:%d/metrics"
_SCRAPE_FAILED = "reading the metrics failed"

_QUEUED = ("pending", "retrying", "sending")
_LATENCY_SAMPLE = 500


@dataclass(frozen=True)
class Health:
    counts: dict[str, int]
    queue_depth: int
    errors: dict[str, int]            # dead, rejected, retrying with an error
    latency_median_s: float | None    # first send minus creation, last 500 sent deliveries
    latency_p95_s: float | None
    latency_sample: int
    shipments: int


def _seconds(later: datetime, earlier: datetime) -> float:
    if later.tzinfo is None or earlier.tzinfo is None:  # SQLite hands back naive values
        later, earlier = later.replace(tzinfo=None), earlier.replace(tzinfo=None)
    return max(0.0, (later - earlier).total_seconds())


def read_health(services: Services) -> Health:
    with services.uow.reading() as uow:
        counts = dict(uow.deliveries.counts())
        with_error = uow.deliveries.with_error()
        rows = uow.deliveries.latest_sent(_LATENCY_SAMPLE)
        shipments = uow.shipments.count()
    latencies = sorted(_seconds(sent, created) for created, sent in rows)
    median = statistics.median(latencies) if latencies else None
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] if latencies else None
    return Health(
        counts=counts, queue_depth=sum(counts.get(s, 0) for s in _QUEUED),
        errors={"dead": counts.get("dead", 0), "rejected": counts.get("rejected", 0),
                "with_last_error": int(with_error)},
        latency_median_s=median, latency_p95_s=p95, latency_sample=len(latencies),
        shipments=shipments)


class Metrics:
    """The registry of one application, its HTTP observers and the outbox collector."""

    def __init__(self, services: Services):
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.services = services
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("exchange_http_requests", "HTTP requests answered",
                                ["method", "route", "status"], registry=self.registry)
        self.durations = Histogram("exchange_http_request_duration_seconds",
                                   "Time to answer an HTTP request", ["method", "route"],
                                   registry=self.registry)
        self.registry.register(_OutboxCollector(services))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        if route == "/metrics":
            return
        self.requests.labels(method, route, str(status)).inc()
        self.durations.labels(method, route).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _LoopbackServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        if hasattr(socket, "SO_REUSEPORT"):  # the workers of one server share the port
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()


class MetricsListener:
    """``GET /metrics`` without a key, on 127.0.0.1 only, in a thread of its own."""

    def __init__(self, metrics: Metrics, port: int):
        self.metrics, self.port = metrics, port
        self._server: _LoopbackServer | None = None

    def start(self) -> int:
        """Listen (``OSError`` if the port is taken by another user's process); the port."""
        render = self.metrics.render

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the name http.server calls
                if self.path.split("?", 1)[0] != "/metrics":
                    self.send_error(404)
                    return
                try:
                    body, media = render()
                except Exception as exc:  # noqa: BLE001 - logged; the scraper tries again
                    log_failure(log, exc, _SCRAPE_FAILED)
                    self.send_error(500)
                    return
                self.send_response(200)
                self.send_header("Content-Type", media)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # scrapes are not logged, as /metrics is not on the main port

        self._server = _LoopbackServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="metrics-listener",
                         daemon=True).start()
        log.info(_LISTENING, self.port)
        return self.port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _OutboxCollector:
    def __init__(self, services: Services):
        self.services = services

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        health = read_health(self.services)
        by_status = GaugeMetricFamily("exchange_deliveries", "Deliveries by status",
                                      labels=["status"])
        for status, n in sorted(health.counts.items()):
            by_status.add_metric([status], n)
        yield by_status
        yield GaugeMetricFamily("exchange_delivery_queue_depth",
                                "Deliveries waiting to be sent (pending, retrying, sending)",
                                value=health.queue_depth)
        errors = GaugeMetricFamily("exchange_delivery_errors",
                                   "Deliveries in error (dead, rejected, with a last error)",
                                   labels=["kind"])
        for kind, n in health.errors.items():
            errors.add_metric([kind], n)
        yield errors
        latency = GaugeMetricFamily(
            "exchange_delivery_latency_seconds",
            "Time from queueing to first send over the last 500 sent deliveries",
            labels=["quantile"])
        if health.latency_median_s is not None:
            latency.add_metric(["0.5"], health.latency_median_s)
            latency.add_metric(["0.95"], health.latency_p95_s or 0.0)
        yield latency
        yield GaugeMetricFamily("exchange_shipments", "Shipments stored",
                                value=health.shipments)
