"""``GET /api/v1/operators/{login}/events``: the operator's screen as Server-Sent Events, so the
workplace shows the client's card the moment the call is connected instead of polling ``/current``.

The stream opens with what ``/current`` would answer, then sends it again each time it changes (the
operator's state, a call connected or ended, a lead put in preview): ``event: current`` with a
:class:`CurrentOut` as data. A comment line every 15 s keeps proxies from closing an idle stream and
finds clients that went away. The stream ends when the session expires and when the server stops;
``retry`` tells a browser's EventSource to come back after 3 s.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from dialer.engine.bus import EngineEvent, Subscription
from dialer.web.api.openapi import Operation
from dialer.web.api.operators import BASE, LOGIN, CurrentOut, authorize_operator, on_screen, service_of
from dialer.web.api.problems import ProblemError

KEEP_ALIVE = 15.0
RETRY_MS = 3000
STREAMS = web.AppKey("operator_streams", set[asyncio.Event])


async def operator_events(request: web.Request) -> web.StreamResponse:
    """Stream the operator's screen: the current call and state now and at every change."""
    login = await authorize_operator(request)
    service = service_of(request)
    stop = asyncio.Event()
    request.app[STREAMS].add(stop)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    try:
        # Subscribe before the first snapshot, so that no change falls between the two.
        with service.bus.subscribe(lambda event: event.operator == login) as changes:
            await response.prepare(request)
            await response.write(f"retry: {RETRY_MS}\n\n".encode())
            sent, last = 0, ""
            while not stop.is_set():
                body = (await on_screen(request, service, login)).model_dump_json()
                if body != last:
                    sent, last = sent + 1, body
                    await response.write(f"id: {sent}\nevent: current\ndata: {body}\n\n".encode())
                if await next_changes(changes, stop, KEEP_ALIVE) is None:
                    await response.write(b": keep-alive\n\n")
                await authorize_operator(request)  # an expired session ends the stream
    except ProblemError:
        pass  # the session expired while streaming: the client opens a new one
    except ConnectionResetError:
        pass  # the client went away
    finally:
        request.app[STREAMS].discard(stop)
    return response


async def next_changes(changes: Subscription, stop: asyncio.Event, idle: float) -> list[EngineEvent] | None:
    """Wait for the next event (then take every one already queued: one snapshot covers them), for
    ``stop``, at most ``idle`` seconds; the events, or None when nothing happened."""
    getting = asyncio.ensure_future(changes.queue.get())
    stopping = asyncio.ensure_future(stop.wait())
    done, pending = await asyncio.wait([getting, stopping], timeout=idle, return_when=asyncio.FIRST_COMPLETED)
    for waiter in pending:
        waiter.cancel()
    if not done:
        return None
    got = [getting.result()] if getting in done else []
    while not changes.queue.empty():
        got.append(changes.queue.get_nowait())
    return got


async def end_streams(app: web.Application) -> None:
    """On shutdown: end every stream, so that stopping the server does not wait for them."""
    for stop in app[STREAMS]:
        stop.set()


def setup(app: web.Application) -> None:
    app[STREAMS] = set()
    app.on_shutdown.append(end_streams)


OPERATIONS = [
    Operation("GET", BASE + "/events", operator_events, "The operator's screen, streamed", "operators",
              {200: CurrentOut}, params=(LOGIN,), errors=(401, 403, 503), stream="text/event-stream",
              description="`event: current` with the same data as `/current`, sent at once and at every "
                          "change; a comment every 15 s while nothing changes."),
]  # fmt: skip
