"""Gunicorn settings, read automatically from the working directory (the image's /app, bench/).

Command-line options (--bind, --workers, --error-logfile, --log-level) still win. What it adds:
- no gunicorn access log by default: Django writes one line per request, with its request ID and
  tenant (lumoauth.observability.middleware);
- gunicorn's own messages (boot, worker exits, timeouts) in the application's LOG_FORMAT, wherever
  they are sent;
- Prometheus multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set: the directory is emptied when
  gunicorn starts and a dead worker's files are marked dead (docs/observability.md).
"""

import glob
import os

from gunicorn import glogging

from lumoauth.observability.logs import JsonFormatter, default_log_format
from lumoauth.observability.request_id import RequestIdFilter

accesslog = None


class Logger(glogging.Logger):
    """Gunicorn's logger, with its handlers' lines as JSON when LOG_FORMAT is json."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        debug = os.environ.get("DEBUG", "").strip().lower() in ("1", "true", "yes", "on")
        if (os.environ.get("LOG_FORMAT") or default_log_format(debug)) == "json":
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.setFormatter(JsonFormatter())
                    handler.addFilter(RequestIdFilter())


logger_class = Logger


def on_starting(server) -> None:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        # prometheus_client: the directory must be emptied between runs (stale values would be summed).
        os.makedirs(path, exist_ok=True)
        for stale in glob.glob(os.path.join(path, "*.db")):
            os.remove(stale)


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
