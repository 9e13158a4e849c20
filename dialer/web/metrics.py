"""Prometheus metrics, kept in a registry of the application's own (no process-global state)."""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    Info,
    ProcessCollector,
    generate_latest,
)

from dialer import __version__


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
