"""What the webhook benchmarks (`webhooks.py`, `soak.py`) share: the web process under
test, residents' phone numbers, inbound SMS forms signed as Twilio signs them, and latency
percentiles."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

PUBLIC_URL = "https://bench.groundswell.example.org"
PATH = "/webhooks/twilio/sms"
TOKEN = "bench-auth-token"
OUR_NUMBER = "+447700900000"
ROOT = Path(__file__).resolve().parents[1]
START_UP_SECONDS = 120


def start_server(
    url: str, port: int, workers: int, threads: int, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """`groundswell serve` on 127.0.0.1:`port` against `url`, taking webhooks signed with
    `TOKEN` for `PUBLIC_URL`, in a process group of its own; returns once /healthz answers.

    Its output goes to `log` (appended), or nowhere.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TWILIO_", "TELEGRAM_", "GROUNDSWELL_", "WEB_"))
    }
    env.update(DATABASE_URL=url, GROUNDSWELL_PUBLIC_URL=PUBLIC_URL, TWILIO_AUTH_TOKEN=TOKEN)
    command = [sys.executable, "-c", "from bot.cli import main; main()", "serve"]
    command += ["--port", str(port), "--workers", str(workers), "--threads", str(threads)]
    with log.open("ab") if log is not None else open(os.devnull, "wb") as output:
        server = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    return wait_until_up(server, f"http://127.0.0.1:{port}/healthz", "groundswell serve")


def wait_until_up(
    server: subprocess.Popen[bytes], url: str, what: str, seconds: float = START_UP_SECONDS
) -> subprocess.Popen[bytes]:
    """Return `server` once `url` answers; exit (killing its process group) if it dies or
    does not answer within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:  # start-up only: short, bounded attempts
        try:
            with urllib.request.urlopen(url, timeout=2):
                return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if server.poll() is not None:
                raise SystemExit(f"{what} exited with {server.returncode}") from None
            time.sleep(0.2)
    os.killpg(server.pid, signal.SIGKILL)
    raise SystemExit(f"{what} did not come up within {seconds:.0f} s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """Stop the server's whole process group: SIGTERM, then SIGKILL after 30 s."""
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def phone(n: int) -> str:
    """Resident `n`'s phone number."""
    return f"+4477{n:08d}"


def signed_request(n: int, body: str, sid: str | None = None) -> tuple[bytes, dict[str, str]]:
    """A Twilio inbound-SMS form from resident `n` (a fresh MessageSid unless given),
    signed as Twilio signs it: the body and headers to POST to `PATH`."""
    from twilio.request_validator import RequestValidator

    sid = sid or "SM" + secrets.token_hex(16)
    params = {
        "ToCountry": "GB",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "FromCountry": "GB",
        "To": OUR_NUMBER,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": phone(n),
        "ApiVersion": "2010-04-01",
    }
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC_URL + PATH, params)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
    }
    return urlencode(params).encode(), headers


def percentile(values: list[float], share: float) -> float:
    """The `share` percentile of `values` (seconds), in milliseconds; 0 for no values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else 0.0
