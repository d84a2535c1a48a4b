"""Structured logs: one JSON object per line, with the fields passed in ``extra``."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


#: Loggers sent to stderr as JSON: ours, and the server's own (its errors and start-up
#: lines), so that a log shipper sees one format only.
LOGGERS = ("deconfliction", "uvicorn", "uvicorn.error", "uvicorn.asgi")


def configure(level: str = "info") -> None:
    """Send every ``deconfliction`` and ``uvicorn`` logger to stderr as JSON lines (start
    uvicorn with ``log_config=None`` so that it keeps them)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    # uvicorn's access lines repeat the "request" line the API logs itself (with the route
    # and duration): silenced, whatever handlers the root logger has.
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False
