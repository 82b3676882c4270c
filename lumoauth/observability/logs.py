"""Logging configuration: JSON (python-json-logger) or text, to stderr, with the request ID.

stderr, so that what a command prints on stdout (`quickstart --json`) stays machine-readable;
containers and process managers collect both streams.

LOG_FORMAT=json|text. Unset: text when DEBUG is on or stderr is a terminal (a developer running
scripts/serve), JSON otherwise (containers, process managers, log shippers).
"""

import sys

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: timestamp (ISO 8601, UTC), level, logger, message, request_id,
    any `extra` fields, and exc_info as text."""

    def __init__(self, **kwargs):
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", True)
        super().__init__("%(levelname)s %(name)s %(message)s %(request_id)s", **kwargs)


def default_log_format(debug: bool) -> str:
    try:
        terminal = sys.stderr is not None and sys.stderr.isatty()
    except ValueError:  # stderr closed
        terminal = False
    return "text" if debug or terminal else "json"


def logging_config(log_format: str, level: str) -> dict:
    """The dictConfig for Django (settings.LOGGING) and for gunicorn's own loggers."""
    if log_format not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}.")
    formatter = {"()": "lumoauth.observability.logs.JsonFormatter"} if log_format == "json" else {"format": TEXT_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "lumoauth.observability.request_id.RequestIdFilter"}},
        "formatters": {"default": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        # pysaml2's schema library announces every schema it loads at INFO.
        "loggers": {"xmlschema": {"level": "WARNING"}},
    }
