"""Logging for the whole process: one handler on the root logger, text or one JSON object a line.

Every record that reaches it gets the current `trace_id` (a request's, or a webhook delivery's
id while an attempt runs) and the request's tenant and key id, then goes through the redaction
net (`hadar.observability.redaction`) before it is written. `configure_logging` is for our own
commands; `logging_config` is the same thing as a dictConfig, which uvicorn applies in each of
its worker processes.
"""

from __future__ import annotations

import logging
import logging.config
import sys
from typing import Any, TextIO

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.orjson import OrjsonFormatter

from hadar.observability.context import current_caller
from hadar.observability.redaction import scrub
from hadar.platform.tracing import current_trace_id

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s trace_id=%(trace_id)s %(message)s"
# Loggers that would write raw URLs (query strings carry provider tokens), SQL parameters
# (phones, e-mails) even when the root is at DEBUG, or a second access log.
QUIET = {
    "httpx": "WARNING",
    "httpcore": "WARNING",
    "tortoise.db_client": "INFO",
    "aiosqlite": "INFO",
    "asyncpg": "INFO",
    "uvicorn.access": "WARNING",
}
_TRACEBACKS = logging.Formatter()


class ContextFilter(logging.Filter):
    """Stamps `trace_id`, `tenant` and `key_id` of the running request or delivery."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = record.__dict__
        if fields.get("trace_id") is None:
            fields["trace_id"] = current_trace_id()
        caller = current_caller()
        fields.setdefault("tenant", caller.tenant_id if caller else None)
        fields.setdefault("key_id", caller.key_id if caller else None)
        return True


class RedactFilter(logging.Filter):
    """Scrubs secrets and personal data from the message, its arguments and any traceback.

    The message is rendered here (arguments can be any object whose str() holds an e-mail),
    and the traceback is turned into text once, so every formatter prints the scrubbed copy.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_hadar_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the line
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = scrub(message), None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = _TRACEBACKS.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        record.__dict__["_hadar_redacted"] = True
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT, defaults={"trace_id": "-"})

    def formatMessage(self, record: logging.LogRecord) -> str:
        values = {**record.__dict__, "trace_id": getattr(record, "trace_id", None) or "-"}
        return TEXT_FORMAT % values


class JsonFormatter(OrjsonFormatter):  # orjson: half the cost of the stdlib encoder
    """{"level", "logger", "message", "pid", "trace_id", "tenant", "key_id", extras…,
    "timestamp"}; the pid tells `hadar serve --workers N` processes apart."""

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message", "process"],
            rename_fields={
                "levelname": "level",
                "name": "logger",
                "process": "pid",
                "exc_info": "traceback",
            },
            # uvicorn's `color_message` repeats the message with terminal escapes
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],
            timestamp=True,
        )


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (test runners swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def formatter(fmt: str) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else TextFormatter()


def install_filters(handler: logging.Handler, fmt: str) -> logging.Handler:
    """Give `handler` the context and redaction filters and the `fmt` formatter."""
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactFilter())
    handler.setFormatter(formatter(fmt))
    return handler


def make_handler(fmt: str = "text") -> logging.Handler:
    """The process's one handler: stderr, with the context and redaction filters."""
    return install_filters(_StderrHandler(), fmt)


def logging_config(fmt: str, level: int | str = logging.INFO) -> dict[str, Any]:
    """A dictConfig: our handler on the root; uvicorn's loggers propagate to it; no access log."""
    quiet = {name: {"level": lvl, "handlers": [], "propagate": True} for name, lvl in QUIET.items()}
    quiet["uvicorn.access"]["propagate"] = False
    level_name = logging.getLevelName(level) if isinstance(level, int) else level
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"hadar": {"()": f"{__name__}.make_handler", "fmt": fmt}},
        "root": {"level": level_name, "handlers": ["hadar"]},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            **quiet,
        },
    }


def configure_logging(fmt: str = "text", level: int | str = logging.INFO) -> None:
    """Route every logger of this process through one `fmt` ("text"|"json") handler."""
    logging.config.dictConfig(logging_config(fmt, level))
