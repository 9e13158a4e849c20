"""The application factory: one app, its audiences, and the runtime it serves.

The runtime (:mod:`dialer.runtime`) starts in a ``cleanup_ctx`` generator, so a failure while starting
(for example an unmigrated database) stops the server before it listens, with the error.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol

import structlog
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from dialer import __version__
from dialer.config import Settings
from dialer.throttle import Throttle
from dialer.web import api
from dialer.web.api.problems import problems
from dialer.web.keys import DATABASE, METRICS, RUNTIME, SETTINGS, THROTTLE, Served
from dialer.web.metrics import EngineMetrics, HttpMetrics

log = structlog.get_logger(__name__)


StartRuntime = Callable[[Settings, Throttle], Awaitable[Served]]
START: web.AppKey[StartRuntime] = web.AppKey("start_runtime")


class Audience(Protocol):
    """A part of the web application for one audience: a module with ``setup(app)``."""

    def setup(self, app: web.Application) -> None: ...


def web_app(
    settings: Settings, start: StartRuntime, *, audiences: Sequence[Audience] = (api,)
) -> web.Application:
    """The application for ``settings``, serving the runtime ``start`` opens when the server starts
    (the composition root, :func:`dialer.runtime.create_app`, passes it). Each audience (the JSON API
    today; the operators' workplace and the supervisors' pages next) adds its routes with its
    ``setup(app)``."""
    metrics = HttpMetrics()
    app = web.Application(middlewares=[metrics.middleware(), problems], client_max_size=40 * 1024 * 1024)
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[THROTTLE] = Throttle()
    app[START] = start
    app.cleanup_ctx.append(_runtime)
    app.router.add_get("/healthz", healthz, name="healthz")
    app.router.add_get("/metrics", metrics_page, name="metrics")
    for audience in audiences:
        audience.setup(app)
    return app


async def _runtime(app: web.Application) -> AsyncIterator[None]:
    """The runtime (database, webhooks, phones, trunks, engine) for as long as the server runs; a
    failure while starting (an unmigrated database, a port in use) stops the server before it listens."""
    runtime = await app[START](app[SETTINGS], app[THROTTLE])
    app[RUNTIME] = runtime
    app[DATABASE] = runtime.db
    counting: asyncio.Task[None] | None = None
    if runtime.engine is not None:
        engine = runtime.engine
        counting = asyncio.create_task(EngineMetrics(app[METRICS].registry).run(engine.bus, engine.board),
                                       name="engine-metrics")  # fmt: skip
    try:
        yield
    finally:
        if counting is not None:
            counting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await counting
        await runtime.stop()


async def healthz(request: web.Request) -> web.Response:
    """200 when the process serves and its database answers, 503 with the reason otherwise."""
    try:
        async with request.app[DATABASE].connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        log.warning("health check failed", error=type(exc).__name__)
        return web.json_response(
            {"status": "unavailable", "database": f"error: {type(exc).__name__}"}, status=503
        )
    return web.json_response({"status": "ok", "database": "ok", "version": __version__})


async def metrics_page(request: web.Request) -> web.Response:
    """Prometheus exposition of the app's registry."""
    return request.app[METRICS].render()
