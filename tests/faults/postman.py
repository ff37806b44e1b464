"""The providers' side of the webhooks: deliver, retry until accepted, redeliver, reorder.

Twilio and Telegram deliver webhooks at least once: Telegram redelivers on any non-2xx
answer, Twilio on timeouts, and both now and then deliver a request twice. The `Postman`
plays both providers against the real web process:

- each delivery goes out after its own delay, from a pool of threads with keep-alive
  connections, so deliveries from different residents interleave and overtake each other;
- a delivery that is not answered 2xx (an error, a refused or dropped connection while the
  web process is dead, a 503 while the database is away) is tried again with backoff until
  it is accepted: nothing the provider holds is ever given up;
- an accepted delivery may be redelivered 1-3 more times, each copy after its own random
  delay, so copies arrive after newer messages of the same resident (reordering).

Every answer is tallied, with the time the request went out and came back, so a run can
show what the web process answered while PostgreSQL was stopped.
"""

from __future__ import annotations

import heapq
import http.client
import itertools
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

#: Seconds a webhook request may take before the provider gives up (Twilio: 15 s).
REQUEST_TIMEOUT = 15.0
#: gunicorn closes keep-alive connections idle this long (its `keepalive`, 5 s, less a
#: margin): reopen rather than send on a connection the server is closing.
IDLE_REOPEN = 4.0
#: Backoff between tries of an unaccepted delivery: base * 2^tries, capped.
RETRY_BASE = 0.2
RETRY_CAP = 3.0


@dataclass
class Delivery:
    """One webhook request, as a provider holds it until it is accepted.

    `label` names the kind ("sms", "telegram", "status"); `sender` the resident's address
    (for reordering counts); `copies` how many redeliveries follow its first acceptance;
    `on_accepted(t)` is called once, with the monotonic time of the first 2xx answer.
    """

    label: str
    path: str
    body: bytes
    headers: dict[str, str]
    sender: str = ""
    copies: int = 0
    on_accepted: Callable[[float], None] | None = None
    redelivery: bool = False
    tries: int = 0
    sequence: int = 0  # order in which the resident wrote it (reordering counts)


@dataclass(frozen=True)
class Answer:
    """What one try got back: a status code, or the name of the connection error."""

    label: str
    sent_at: float
    answered_at: float
    status: int | None
    error: str | None


@dataclass
class PostmanStats:
    """What the postman did, for the report."""

    deliveries: int = 0  # distinct webhook requests (first deliveries)
    redeliveries: int = 0  # extra copies sent after acceptance
    overtaken: int = 0  # copies that arrived after a newer message of the same resident
    retries: int = 0  # tries after an answer that was not 2xx
    statuses: Counter[str] = field(default_factory=Counter)  # "200", "503", "refused"...
    tracebacks: int = 0  # answers whose body looked like a Python traceback


class Postman:
    """Delivers webhooks to 127.0.0.1:`port` from `threads` threads (see module docstring)."""

    def __init__(self, port: int, *, threads: int, seed: int, spread: float = 3.0) -> None:
        self.port = port
        self.spread = spread
        self.stats = PostmanStats()
        self.answers: list[Answer] = []
        self._random = random.Random(seed)
        self._heap: list[tuple[float, int, Delivery]] = []
        self._numbers = itertools.count()
        self._cond = threading.Condition()
        self._in_flight = 0
        self._closing = False
        self._newest: dict[str, int] = {}  # sender -> highest sequence accepted
        self._threads = [
            threading.Thread(target=self._run, name=f"postman-{n}", daemon=True)
            for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    # ----------------------------------------------------------------- public

    def post(self, delivery: Delivery, delay: float = 0.0) -> None:
        """Deliver `delivery` after `delay` seconds (and until it is accepted)."""
        with self._cond:
            if not delivery.redelivery:
                self.stats.deliveries += 1
            self._push(delivery, time.monotonic() + delay)

    def idle(self) -> bool:
        """Whether nothing is waiting to be delivered or on its way."""
        with self._cond:
            return not self._heap and self._in_flight == 0

    def wait_idle(self, timeout: float) -> bool:
        """Block until `idle()` (woken by every finished delivery); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._heap and not self._in_flight, timeout)

    def close(self) -> None:
        """Stop the threads (deliveries still waiting are dropped)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=REQUEST_TIMEOUT + 5)

    # ----------------------------------------------------------------- internals

    def _push(self, delivery: Delivery, due: float) -> None:
        heapq.heappush(self._heap, (due, next(self._numbers), delivery))
        self._cond.notify_all()

    def _next(self) -> Delivery | None:
        with self._cond:
            while not self._closing:
                if self._heap:
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        self._in_flight += 1
                        return heapq.heappop(self._heap)[2]
                    self._cond.wait(wait)
                else:
                    self._cond.wait()
            return None

    def _run(self) -> None:
        connection: http.client.HTTPConnection | None = None
        last_used = 0.0
        while True:
            delivery = self._next()
            if delivery is None:
                break
            if connection is not None and time.monotonic() - last_used > IDLE_REOPEN:
                connection.close()
                connection = None
            if connection is None:
                connection = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=REQUEST_TIMEOUT
                )
            sent_at = time.monotonic()
            status: int | None = None
            error: str | None = None
            body = b""
            try:
                connection.request("POST", delivery.path, delivery.body, delivery.headers)
                response = connection.getresponse()
                body = response.read()
                status = response.status
                if response.will_close:
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException) as exc:
                error = _error_name(exc)
                connection.close()
                connection = None
            last_used = time.monotonic()
            self._done(
                delivery, Answer(delivery.label, sent_at, time.monotonic(), status, error), body
            )
        if connection is not None:
            connection.close()

    def _done(self, delivery: Delivery, answer: Answer, body: bytes) -> None:
        accepted = answer.status is not None and 200 <= answer.status < 300
        with self._cond:
            self._in_flight -= 1
            self.answers.append(answer)
            self.stats.statuses[str(answer.status) if answer.status else str(answer.error)] += 1
            if b"Traceback (most recent call last)" in body or b'File "' in body:
                self.stats.tracebacks += 1
            if accepted:
                self._accepted(delivery, answer)
            elif answer.status is not None and 400 <= answer.status < 500:
                pass  # a provider does not retry a refusal; the report counts it
            else:
                delivery.tries += 1
                self.stats.retries += 1
                backoff = min(RETRY_CAP, RETRY_BASE * 2**delivery.tries)
                self._push(delivery, time.monotonic() + backoff * self._random.uniform(0.5, 1.5))
            self._cond.notify_all()
        if accepted and delivery.on_accepted is not None and not delivery.redelivery:
            delivery.on_accepted(answer.answered_at)

    def _accepted(self, delivery: Delivery, answer: Answer) -> None:
        """Count overtaking, and schedule the redeliveries of a first acceptance."""
        if delivery.sender:
            newest = self._newest.get(delivery.sender, -1)
            if delivery.redelivery and delivery.sequence < newest:
                self.stats.overtaken += 1
            self._newest[delivery.sender] = max(newest, delivery.sequence)
        if delivery.redelivery:
            return
        for _ in range(delivery.copies):
            copy = Delivery(
                label=delivery.label,
                path=delivery.path,
                body=delivery.body,
                headers=delivery.headers,
                sender=delivery.sender,
                redelivery=True,
                sequence=delivery.sequence,
            )
            self.stats.redeliveries += 1
            self._push(copy, time.monotonic() + self._random.uniform(0, self.spread))


def _error_name(exc: BaseException) -> str:
    """A short name for a failed try: refused, reset, timeout, ..."""
    if isinstance(exc, http.client.RemoteDisconnected):  # a ConnectionResetError too
        return "disconnected"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return "reset"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return type(exc).__name__
