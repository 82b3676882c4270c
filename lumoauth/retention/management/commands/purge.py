"""manage.py purge [--dry-run]: the retention job by hand (Celery beat runs it daily; without Redis, run
it from cron)."""

from django.core.management.base import BaseCommand, CommandError

from lumoauth.events.api import Ref
from lumoauth.retention.api import PurgeFailed, policy, run

ACTOR = Ref("system", "", "manage.py purge")


class Command(BaseCommand):
    help = "Delete what is past its retention (docs/architecture.md, Retention); the audit log is never purged."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Only count what would be deleted now (rows that this run's deletions would free, such "
            "as codes whose tokens go, are counted on the next run).",
        )

    def handle(self, *args, dry_run: bool = False, **options):
        try:
            counts = run(actor=ACTOR, dry_run=dry_run)
        except PurgeFailed as exc:
            raise CommandError(f"purge failed in: {exc} (see the log; the rest ran)") from exc
        verb = "would be deleted" if dry_run else "deleted"
        width = max(map(len, counts), default=0)
        for label, count in sorted(counts.items()):
            self.stdout.write(f"{label:<{width}}  {count}")
        self.stdout.write(f"{sum(counts.values())} rows {verb}; policy: {policy()}")
