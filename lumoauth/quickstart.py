"""`manage.py quickstart` is assembled from contributions: each app registers a function that
adds its demo objects to the demo tenant and its entries to the JSON the command prints.

The tenants app owns the command and the demo tenant; the other apps register in AppConfig.ready,
so no app has to import another to take part.
"""

from collections.abc import Callable

Contribution = Callable[[object, dict], None]  # (demo tenant, info dict to extend) -> None
_contributions: list[tuple[int, Contribution]] = []


def contribute(order: int) -> Callable[[Contribution], Contribution]:
    def register(function: Contribution) -> Contribution:
        if function not in [f for _, f in _contributions]:
            _contributions.append((order, function))
        return function

    return register


def contributions() -> list[Contribution]:
    return [function for _, function in sorted(_contributions, key=lambda item: item[0])]
