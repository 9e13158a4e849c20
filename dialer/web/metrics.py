"""Prometheus metrics, kept in a registry of the application's own (no process-global state)."""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    generate_latest,
)

from dialer import __version__
from dialer.engine.board import OperatorBoard, OperatorState
from dialer.engine.bus import EventBus


class HttpMetrics:
    """The HTTP server's counters; other subsystems register theirs on :attr:`registry`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        Info("dialer_build", "Version of the running dialer", registry=self.registry).info(
            {"version": __version__}
        )
        self.requests = Counter(
            "dialer_http_requests",
            "HTTP requests handled, by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "dialer_http_request_duration_seconds",
            "Time to handle an HTTP request",
            ["route"],
            registry=self.registry,
        )

    def middleware(self) -> Middleware:
        """An aiohttp middleware that counts and times every request by its route template."""

        @web.middleware
        async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
            route = request.match_info.route.resource
            name = route.canonical if route is not None else "unmatched"
            started = time.perf_counter()
            status = 500
            try:
                response = await handler(request)
                status = response.status
                return response
            except web.HTTPException as exc:
                status = exc.status
                raise
            finally:
                self.requests.labels(request.method, name, str(status)).inc()
                self.latency.labels(name).observe(time.perf_counter() - started)

        return count

    def render(self) -> web.Response:
        """The exposition-format page for ``/metrics``."""
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


class EngineMetrics:
    """The dialing engine's counters, fed from its event bus."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.calls = Counter(
            "dialer_calls",
            "Client calls ended, by campaign and outcome",
            ["campaign", "outcome"],
            registry=registry,
        )
        self.connected = Counter(
            "dialer_calls_connected",
            "Answered clients bridged to an operator",
            ["campaign"],
            registry=registry,
        )
        self.abandoned = Counter(
            "dialer_calls_abandoned",
            "Answered clients no operator took within 2 s",
            ["campaign"],
            registry=registry,
        )
        self.wait = Histogram(
            "dialer_wait_to_operator_seconds", "From the answer to the bridge", ["campaign"],
            registry=registry, buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0),
        )  # fmt: skip
        self.operators = Gauge("dialer_operators", "Operators by state", ["state"], registry=registry)

    async def run(self, bus: EventBus, board: OperatorBoard) -> None:
        """Count events until cancelled."""
        with bus.subscribe() as events:
            async for event in events:
                campaign = str(event.campaign)
                if event.kind == "call.ended":
                    self.calls.labels(campaign, str(event.data.get("outcome"))).inc()
                elif event.kind == "call.connected":
                    self.connected.labels(campaign).inc()
                    self.wait.labels(campaign).observe(float(event.data.get("waited", 0.0)))
                elif event.kind == "call.abandoned":
                    self.abandoned.labels(campaign).inc()
                elif event.kind == "operator.state":
                    for state in OperatorState:
                        count = sum(o.state is state for o in board.operators.values())
                        self.operators.labels(state.value).set(count)
