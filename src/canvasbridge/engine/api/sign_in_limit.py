"""Too many wrong tokens from one client address, and it must wait before trying again.

Admin tokens are long enough that guessing is hopeless, but a client that keeps presenting
wrong ones is either broken or guessing: after ``failures`` wrong tokens within ``window_s``
seconds, every token it presents (the right one too) is refused with 429 and ``Retry-After``
until its oldest failure leaves the window. The count is per API process and in memory;
behind a reverse proxy, run uvicorn with the proxy's forwarded address (``--proxy-headers``)
or every client shares the proxy's.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from starlette.requests import Request

MAX_CLIENTS = 10_000  # the clients remembered at once; the longest quiet are forgotten first


class SignInLimit:
    def __init__(
        self, *, failures: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._failures = failures
        self._window_s = window_s
        self._clock = clock
        self._recent: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, client: str) -> int | None:
        """Whole seconds ``client`` must wait before its next try, or None if it may try now."""
        times = self._pruned(client)
        if times is None or len(times) < self._failures:
            return None
        return max(1, math.ceil(times[0] + self._window_s - self._clock()))

    def failed(self, client: str) -> None:
        times = self._pruned(client)
        if times is None:
            times = self._recent[client] = deque()
            while len(self._recent) > MAX_CLIENTS:
                self._recent.popitem(last=False)
        times.append(self._clock())
        self._recent.move_to_end(client)

    def succeeded(self, client: str) -> None:
        self._recent.pop(client, None)

    def _pruned(self, client: str) -> deque[float] | None:
        times = self._recent.get(client)
        if times is None:
            return None
        horizon = self._clock() - self._window_s
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._recent[client]
            return None
        return times


def client_address(request: Request) -> str:
    """The key a request is counted under: its client's address (test clients have none)."""
    return request.client.host if request.client and request.client.host else "unknown"
