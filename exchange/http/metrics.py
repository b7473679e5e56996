"""Prometheus metrics at ``/metrics`` and the figures of the operator's health page.

HTTP request counts and durations are observed by the request-id middleware; the delivery
figures (queue depth, latency, errors) are read from the outbox when scraped, so they are
right whichever process (``exchange serve`` or ``exchange dispatch``) moved the rows. Each
application has its own registry (several apps in one test process never collide).

``/metrics`` needs no API key: it carries counts only (no ids, documents or parties); keep
the server on loopback or behind the proxy that scrapes it.
"""
from __future__ import annotations

import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

if TYPE_CHECKING:
    from prometheus_client.core import Metric

__all__ = ["Health", "Metrics", "read_health"]

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


def read_health(services: Any) -> Health:
    from exchange.store.deliveries import DeliveryRow

    with services.uow.reading() as uow:
        counts = dict(uow.deliveries.counts())
        with_error = uow.session.scalar(select(func.count()).select_from(DeliveryRow).where(
            DeliveryRow.last_error.is_not(None))) or 0
        rows = uow.session.execute(
            select(DeliveryRow.created_at, DeliveryRow.first_sent_at)
            .where(DeliveryRow.first_sent_at.is_not(None))
            .order_by(DeliveryRow.first_sent_at.desc()).limit(_LATENCY_SAMPLE)).all()
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

    def __init__(self, services: Any):
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


class _OutboxCollector:
    def __init__(self, services: Any):
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
