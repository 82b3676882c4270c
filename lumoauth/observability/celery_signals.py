"""The request ID travels with the Celery tasks a request enqueues, in a message header, so the
task's log records carry the ID of the request that caused them."""

from celery.signals import before_task_publish, task_postrun, task_prerun

from .request_id import bind_request_id, current_request_id, unbind_request_id

HEADER = "lumoauth_request_id"
_bound: dict[str, object] = {}  # task id -> contextvar token, to restore after the task


@before_task_publish.connect(dispatch_uid="lumoauth.request_id.publish")
def add_request_id_header(headers=None, **kwargs) -> None:
    request_id = current_request_id()
    if request_id and headers is not None:
        headers.setdefault(HEADER, request_id)


@task_prerun.connect(dispatch_uid="lumoauth.request_id.prerun")
def bind_task_request_id(task_id=None, task=None, **kwargs) -> None:
    request = getattr(task, "request", None)
    if request is None:
        return
    # Protocol 2 hands custom headers to the task as request attributes (older paths keep them
    # in request.headers). An eager task (no broker) runs inside the request and keeps its ID.
    request_id = getattr(request, HEADER, None) or (getattr(request, "headers", None) or {}).get(HEADER)
    if request_id or not request.is_eager:
        _bound[task_id] = bind_request_id(request_id or None)


@task_postrun.connect(dispatch_uid="lumoauth.request_id.postrun")
def unbind_task_request_id(task_id=None, **kwargs) -> None:
    token = _bound.pop(task_id, None)
    if token is not None:
        try:
            unbind_request_id(token)
        except ValueError:  # a pool that ran prerun and postrun in different contexts
            bind_request_id(None)
