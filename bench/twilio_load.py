"""What the webhook benchmarks (`webhooks.py`, `soak.py`) share: residents' phone numbers,
inbound SMS forms signed as Twilio signs them, and latency percentiles."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

PUBLIC_URL = "https://bench.groundswell.example.org"
PATH = "/webhooks/twilio/sms"
TOKEN = "bench-auth-token"
OUR_NUMBER = "+447700900000"


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
