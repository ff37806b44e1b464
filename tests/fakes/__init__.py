"""Fake provider servers that the REAL twilio and python-telegram-bot clients talk to.

There is no internet in the test environment, and mocks of the client libraries would hide
exactly the bugs we need to find (URLs, encodings, error mapping, timeouts). So each fake is a
real HTTP server on 127.0.0.1 that speaks the provider's protocol; see the module docstrings:

* :mod:`tests.fakes.twilio_api`: ``FakeTwilio`` (Messages resource), ``twilio_inbound_params``,
  ``twilio_status_callback_params``, ``whatsapp_inbound_params`` (WhatsApp: windows and
  templates). Point a client with ``client.api.base_url = fake.base_url``.
* :mod:`tests.fakes.telegram_api`: ``FakeTelegram`` (Bot API), ``telegram_text_update``,
  ``telegram_callback_update``. Point a bot with ``Bot(token, base_url=fake.base_url + "/bot")``.

Both share fault injection (``fail_next``, ``rate_limit_next``, ``hang_next``, ``drop_next``) and
condition-based ``wait_for_*`` helpers from :mod:`tests.fakes._server`.
"""

from tests.fakes._server import Fault, RecordedRequest, UploadedFile
from tests.fakes.telegram_api import (
    FakeTelegram,
    telegram_callback_update,
    telegram_text_update,
)
from tests.fakes.twilio_api import (
    FakeTwilio,
    twilio_inbound_params,
    twilio_status_callback_params,
    whatsapp_inbound_params,
)

__all__ = [
    "FakeTelegram",
    "FakeTwilio",
    "Fault",
    "RecordedRequest",
    "UploadedFile",
    "telegram_callback_update",
    "telegram_text_update",
    "twilio_inbound_params",
    "twilio_status_callback_params",
    "whatsapp_inbound_params",
]
