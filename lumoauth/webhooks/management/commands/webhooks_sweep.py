"""Queue (or, without a broker, send) the webhook deliveries that are due: the Celery beat sweep, by
hand. Installs without Redis run it from cron to retry failed attempts."""

import time

from django.core.management.base import BaseCommand

from lumoauth.webhooks.sweep import sweep


class Command(BaseCommand):
    help = "Queue the pending webhook deliveries that are due (sent in-process when no broker is configured)."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0, help="Repeat every N seconds until interrupted.")

    def handle(self, *args, every: float = 0, **options):
        while True:
            queued = sweep()
            self.stdout.write(f"{queued} deliveries queued")
            if every <= 0:
                return
            time.sleep(every)
