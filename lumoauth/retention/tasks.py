"""The daily purge (settings.CELERY_BEAT_SCHEDULE, "retention-purge")."""

from celery import shared_task

from lumoauth.events.api import Ref

from .api import run

ACTOR = Ref("system", "", "daily purge (Celery beat)")


@shared_task(name="lumoauth.retention.purge", ignore_result=True)
def purge() -> int:
    return sum(run(actor=ACTOR).values())
