"""Structured logging: structlog for our code, the standard library's records (aiohttp, alembic)
rendered by the same processors, one line per event on stderr.

Configured once by the CLI at start-up, never at import time. Secrets are never passed to a logger:
log the masked forms (``DatabaseSettings.display_url``), never settings objects.
"""

from __future__ import annotations

import logging
import sys

import structlog
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web import BaseRequest, StreamResponse
from aiohttp.web_log import AccessLogger

from dialer.config import LoggingSettings
from dialer.redaction import redact


def configure_logging(settings: LoggingSettings) -> None:
    """Route structlog and stdlib logging to stderr in the configured format and level."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: structlog.types.Processor
    if settings.format == "json":
        shared.append(structlog.processors.format_exc_info)
        shared.append(_redact_secrets)
        renderer = structlog.processors.JSONRenderer()
    else:
        shared.append(_redact_secrets)
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    handler.addFilter(_drop_alembic_chatter)
    handler.addFilter(_malformed_requests_in_one_line)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level.upper())


def _redact_secrets(
    _logger: object, _method: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Mask credentials in every string of the event (see :mod:`dialer.redaction`)."""
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = redact(value)
    return event


_ALEMBIC_CHATTER = ("Context impl ", "Will assume ")


def _drop_alembic_chatter(record: logging.LogRecord) -> bool:
    """Keep Alembic's "Running upgrade ..." lines, drop what it says on every connection."""
    return not (record.name.startswith("alembic") and str(record.msg).startswith(_ALEMBIC_CHATTER))


def _malformed_requests_in_one_line(record: logging.LogRecord) -> bool:
    """A client's malformed HTTP request (answered 400 by aiohttp) is the client's fault: one
    warning line saying what was wrong, not a server traceback."""
    if (
        record.name == "aiohttp.server"
        and record.exc_info
        and isinstance(record.exc_info[1], HttpProcessingError)
    ):
        exc = record.exc_info[1]
        record.msg = "malformed HTTP request refused with %s: %s"
        record.args = (exc.code, exc.message.splitlines()[0] if exc.message else type(exc).__name__)
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
    return True


class AccessLog(AccessLogger):
    """aiohttp's access log without the polling: a read that succeeded (a GET or HEAD answered
    below 400: the workplace asks for ``/current`` every second, supervisors' screens poll ``/live``,
    Prometheus scrapes ``/metrics``) is logged only when the level is DEBUG; every write and every
    refusal stays at INFO."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        routine = request.method in ("GET", "HEAD") and response.status < 400
        if routine and not self.logger.isEnabledFor(logging.DEBUG):
            return
        super().log(request, response, time)
