"""Log records as one JSON object per line, for log collectors to parse without guessing."""

from __future__ import annotations

import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

# The id of the request being answered, for every line logged while answering it.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if fields.pop("request_line", False):
            # An access-log record: its fields are the line.
            line.update(fields)
        else:
            line["message"] = record.getMessage()
            line.update(fields)
            if record.exc_info:
                line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def install_request_ids() -> None:
    """Every log record made while a request is answered carries its id as `request_id`."""
    make_record = logging.getLogRecordFactory()

    def record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        current = request_id.get()
        if current is not None:
            record.request_id = current
        return record

    logging.setLogRecordFactory(record_with_request_id)
