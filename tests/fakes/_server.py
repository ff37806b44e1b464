"""Shared machinery for the fake provider servers (Twilio, Telegram).

Each fake is a real HTTP/1.1 server (stdlib ``ThreadingHTTPServer``) bound to 127.0.0.1 on a
free port, served from a daemon thread, so that the *real* client libraries (``twilio`` over
``requests``, ``python-telegram-bot`` over ``httpx``) talk to it exactly as they talk to the
providers: real sockets, real keep-alive connections, real timeouts.

This module holds what both fakes share:

* the server life cycle (``start``/``close``, context manager, ``base_url``);
* request parsing (query string, url-encoded form, JSON, multipart);
* a record of every request the fake answered (``requests``) and ``wait_*`` helpers built on one
  ``threading.Condition`` (no sleep loops: waiters are woken when something is recorded);
* runtime fault injection, thread-safe: ``fail_next``, ``rate_limit_next``, ``hang_next``,
  ``drop_next``. Faults are consumed first-in first-out by the next matching requests; the
  provider modules decide what a failure *looks like* on the wire.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import json
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self, TypeVar
from urllib.parse import parse_qs, urlsplit

T = TypeVar("T")

FaultKind = Literal["fail", "rate_limit", "hang", "drop"]

#: How long ``wait_for_*`` helpers wait by default. Generous for a loaded CI machine; a passing
#: test never waits this long because waiters are woken as soon as the condition holds.
DEFAULT_WAIT = 5.0


@dataclass(frozen=True)
class Fault:
    """One injected failure, consumed by the next request whose operation matches ``only``.

    ``only`` is ``None`` (any request) or a provider-specific operation name (Twilio:
    ``"create"``, ``"fetch"``, ``"list"``; Telegram: a Bot API method such as ``"sendMessage"``).
    ``accepted`` (hang and drop only) says whether the fake processes the request normally
    (e.g. records the message as sent) before answering late or dropping the connection: the
    "provider did it but the client never heard back" case that makes retries dangerous.
    """

    kind: FaultKind
    only: str | None = None
    status: int = 500
    retry_after: int = 1
    seconds: float = 0.0
    accepted: bool = False
    code: int | None = None
    message: str | None = None


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (e.g. Telegram ``sendPhoto``'s ``photo``)."""

    filename: str | None
    content_type: str
    data: bytes


@dataclass
class IncomingRequest:
    """An HTTP request as the fake received it, with lazily parsed parameters."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    _params: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased (``""`` when absent)."""
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def params(self) -> dict[str, Any]:
        """All parameters: query string merged with the body, whatever its encoding.

        Query-string and url-encoded form values are ``str`` (a ``list[str]`` when the name
        repeats, as with Twilio's ``MediaUrl``); JSON bodies keep their native types; multipart
        text fields are ``str`` and file parts are :class:`UploadedFile`.
        """
        if self._params is None:
            params: dict[str, Any] = _flatten(self.query)
            ctype = self.content_type
            if ctype == "application/x-www-form-urlencoded":
                form = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
                params.update(_flatten(form))
            elif ctype == "application/json" and self.body:
                payload = json.loads(self.body)
                if isinstance(payload, dict):
                    params.update(payload)
            elif ctype == "multipart/form-data":
                params.update(_parse_multipart(self.headers.get("Content-Type", ""), self.body))
            self._params = params
        return self._params


@dataclass
class Reply:
    """What the fake answers: status, body and extra headers."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
        """A JSON reply with the right content type."""
        all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, json.dumps(payload).encode("utf-8"), all_headers)


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake handled, faulted or not, for assertions such as "retried twice".

    ``status`` is ``None`` when the connection was dropped without an answer; ``fault`` names
    the injected fault that hit this request, if any.
    """

    method: str
    path: str
    operation: str | None
    params: dict[str, Any]
    status: int | None
    fault: FaultKind | None


@dataclass
class _Outcome:
    reply: Reply | None  # None: close the connection without answering
    delay: float = 0.0


def _flatten(multi: dict[str, list[str]]) -> dict[str, Any]:
    return {k: v[0] if len(v) == 1 else list(v) for k, v in multi.items()}


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """Parse ``multipart/form-data`` with the stdlib email parser (``cgi`` is deprecated)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    out: dict[str, Any] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        data = part.get_payload(decode=True)
        data = data if isinstance(data, bytes) else b""
        filename = part.get_filename()
        if filename is not None or part.get("Content-Type") is not None:
            out[name] = UploadedFile(filename, part.get_content_type(), data)
        else:
            out[name] = data.decode("utf-8")
    return out


class _HTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its fake and its open connections."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: FakeServer) -> None:
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (a SIGKILLed worker) is not an error of the
        fake's: stay quiet about it, and print anything else as the standard server does."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def abort_connections(self) -> None:
        """Shut down every open client connection, waking handler threads blocked on reads."""
        with self.connections_lock:
            conns = list(self.connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, lets the fake decide, then answers, answers late, or hangs up."""

    protocol_version = "HTTP/1.1"  # keep-alive, as both client libraries expect
    # Headers and body go out in separate sends; with Nagle on, the client's delayed ACK
    # would add ~40 ms to every answer on Linux.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            with contextlib.suppress(OSError):
                super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: pytest output should show test failures, not access logs."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        split = urlsplit(self.path)
        request = IncomingRequest(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=self.headers,
            body=self._read_body(),
        )
        fake = self.server.fake
        outcome = fake._dispatch(request)
        if outcome.delay > 0:
            fake._closing.wait(outcome.delay)  # released at once when the fake closes
        if outcome.reply is None or fake._closing.is_set():
            self._hang_up()
            return
        reply = outcome.reply
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:  # the client gave up (timed out) while we were hanging
            self.close_connection = True

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class FakeServer:
    """Base class of the fakes: life cycle, request log, waits and fault injection.

    Subclasses implement :meth:`_operation` (name a request for fault matching and logs),
    :meth:`_handle` (the provider's real behaviour) and :meth:`_fault_reply` (what an injected
    failure or rate limit looks like for that provider).
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._cond = threading.Condition(threading.RLock())
        self._faults: list[Fault] = []
        self._requests: list[RecordedRequest] = []
        self._closing = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- life cycle

    def start(self) -> Self:
        """Bind the socket and serve from a daemon thread. Returns ``self``."""
        if self._httpd is not None:
            raise RuntimeError(f"{type(self).__name__} already started")
        self._closing.clear()
        self._httpd = _HTTPServer(self._address, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"{type(self).__name__}-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving: release hung answers and long polls, close every connection."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._closing.set()
        with self._cond:
            self._cond.notify_all()
        httpd.shutdown()
        httpd.abort_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def port(self) -> int:
        """The TCP port the fake listens on (only once started)."""
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not running; use it as a context manager")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, without a trailing slash."""
        return f"http://{self._address[0]}:{self.port}"

    # ----------------------------------------------------------------- request log and waits

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request handled so far, in arrival order."""
        with self._cond:
            return list(self._requests)

    def wait_for_requests(
        self, n: int, *, operation: str | None = None, timeout: float = DEFAULT_WAIT
    ) -> list[RecordedRequest]:
        """Block until at least ``n`` requests (for ``operation``, if given) have arrived.

        Returns them; raises ``AssertionError`` after ``timeout`` seconds.
        """

        def enough() -> list[RecordedRequest] | None:
            found = [r for r in self._requests if operation is None or r.operation == operation]
            return found if len(found) >= n else None

        what = f"{n} request(s)" + (f" for {operation}" if operation else "")
        return self._wait_until(enough, timeout, what)

    def _wait_until(self, predicate: Callable[[], T | None], timeout: float, what: str) -> T:
        """Wait on the shared condition until ``predicate()`` is not ``None``; return it.

        Waiters are woken by every recorded event, so this never polls or sleeps.
        """
        found: list[T] = []

        def ready() -> bool:
            value = predicate()
            if value is None:
                return False
            found.append(value)
            return True

        with self._cond:
            if not self._cond.wait_for(ready, timeout):
                raise AssertionError(
                    f"{type(self).__name__}: timed out after {timeout}s waiting for {what}; "
                    f"requests so far: {[(r.method, r.path, r.status) for r in self._requests]}"
                )
            return found[-1]

    def _notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # ----------------------------------------------------------------- fault injection

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        *,
        code: int | None = None,
        message: str | None = None,
        only: str | None = None,
    ) -> None:
        """Answer the next ``n`` (matching) requests with an HTTP ``status`` error.

        The body has the provider's error shape; ``code``/``message`` override its defaults.
        """
        self._add_faults(n, Fault("fail", only, status=status, code=code, message=message))

    def rate_limit_next(self, n: int = 1, retry_after: int = 1, *, only: str | None = None) -> None:
        """Answer the next ``n`` (matching) requests with the provider's 429 rate-limit answer."""
        self._add_faults(n, Fault("rate_limit", only, status=429, retry_after=retry_after))

    def hang_next(
        self, n: int, seconds: float, *, accepted: bool = True, only: str | None = None
    ) -> None:
        """Hold the next ``n`` (matching) requests for ``seconds`` before answering.

        Use a client timeout shorter than ``seconds`` to provoke a timeout. With ``accepted``
        (the default) the request takes effect (a message is recorded as sent) and the normal
        answer is written late, i.e. the provider did the work but the client never heard.
        With ``accepted=False`` nothing takes effect and the connection is closed afterwards.
        Closing the fake releases hung requests immediately.
        """
        self._add_faults(n, Fault("hang", only, seconds=seconds, accepted=accepted))

    def drop_next(self, n: int = 1, *, accepted: bool = False, only: str | None = None) -> None:
        """Close the connection of the next ``n`` (matching) requests without any answer.

        With ``accepted=True`` the request takes effect first (sent, but the answer was lost).
        """
        self._add_faults(n, Fault("drop", only, accepted=accepted))

    def clear_faults(self) -> None:
        """Forget every fault not yet consumed."""
        with self._cond:
            self._faults.clear()

    @property
    def pending_faults(self) -> list[Fault]:
        """Faults injected but not yet consumed, in the order they will fire."""
        with self._cond:
            return list(self._faults)

    def _add_faults(self, n: int, fault: Fault) -> None:
        if n < 0:
            raise ValueError("n must be >= 0")
        with self._cond:
            self._faults.extend([fault] * n)

    def _take_fault(self, operation: str | None) -> Fault | None:
        with self._cond:
            for i, fault in enumerate(self._faults):
                if fault.only is None or fault.only == operation:
                    return self._faults.pop(i)
        return None

    # ----------------------------------------------------------------- dispatch

    def _dispatch(self, request: IncomingRequest) -> _Outcome:
        """Apply a pending fault or the provider behaviour; record the request either way."""
        try:
            operation = self._operation(request)
            fault = self._take_fault(operation)
            if fault is None:
                outcome = _Outcome(self._handle(request))
            elif fault.kind in ("fail", "rate_limit"):
                outcome = _Outcome(self._fault_reply(fault))
            elif fault.kind == "hang":
                reply = self._handle(request) if fault.accepted else None
                outcome = _Outcome(reply, delay=fault.seconds)
            else:  # drop
                if fault.accepted:
                    self._handle(request)
                outcome = _Outcome(None)
            try:
                params = dict(request.params())
            except ValueError:
                params = {}
        except Exception:  # a bug in the fake: make it loud in the test output
            traceback.print_exc(file=sys.stderr)
            body = traceback.format_exc().encode()
            return _Outcome(Reply(500, body, {"Content-Type": "text/plain"}))
        status = outcome.reply.status if outcome.reply is not None else None
        record = RecordedRequest(
            request.method,
            request.path,
            operation,
            params,
            status,
            fault.kind if fault else None,
        )
        with self._cond:
            self._requests.append(record)
            self._cond.notify_all()
        return outcome

    def _operation(self, request: IncomingRequest) -> str | None:
        raise NotImplementedError

    def _handle(self, request: IncomingRequest) -> Reply:
        raise NotImplementedError

    def _fault_reply(self, fault: Fault) -> Reply:
        raise NotImplementedError
