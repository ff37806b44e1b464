"""Twilio's own Flask SMS survey sample under the same load as `webhooks.py`, for a side-by-side
comparison run in the same session.

The sample (https://github.com/TwilioDevEd/automated-survey-flask, MIT licence) is not ours
to ship: clone it yourself and pass its folder. This script:

1. makes a virtualenv in a temporary folder and installs the sample's four direct
   dependencies at their current releases (flask, flask-sqlalchemy, twilio, gunicorn; its
   2021 pins do not install on Python 3.11), creates its SQLite database and loads its
   `survey.json` as its own `manage.py dbseed` does;
2. starts it under gunicorn on loopback with `--workers` sync workers (as `webhooks.py`
   starts Groundswell);
3. has `--participants` residents answer its four questions from `--lanes` threads. The
   sample keeps its place in a Flask cookie session and answers through TwiML `<Redirect>`s
   that Twilio follows, so one resident's message costs three HTTP requests (GET /message,
   POST /answer/N, GET /question/N+1); the client follows them and keeps each resident's
   cookie, as Twilio does. It does not check signatures, de-duplicate redeliveries or
   link answers to people, which Groundswell does.

Prints inbound messages/s (a message counts once its whole redirect chain is answered),
latency p50/p99 per message, and the gunicorn processes' CPU time per message. Then run
`bench/webhooks.py --workers K` with the same K, right after, for Groundswell's figures:

    git clone https://github.com/TwilioDevEd/automated-survey-flask /tmp/sample
    python bench/twilio_sample.py --sample /tmp/sample --workers 2
    python bench/webhooks.py --workers 2 --threads 1 --participants 2000
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.curve import load_average  # noqa: E402
from bench.twilio_load import OUR_NUMBER, percentile, phone, wait_until_up  # noqa: E402
from bench.webhooks import tree_cpu_seconds  # noqa: E402

PACKAGES = ["flask>=3,<4", "flask-sqlalchemy>=3.1,<4", "twilio>=9,<10", "gunicorn>=22"]
ANSWERS = ["Sam Example", "1", "8", "Flask"]  # one per question of its survey.json
WSGI = "from automated_survey_flask import prepare_app\napp = prepare_app()\n"
SEED = """
from automated_survey_flask import db, parsers, prepare_app
app = prepare_app()
with app.app_context():
    db.create_all()
    with open('survey.json') as survey_file:
        db.session.add(parsers.survey_from_json(survey_file.read()))
    db.session.commit()
"""


def install(folder: Path) -> Path:
    """A virtualenv in `folder` with the sample's dependencies; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = folder / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    return python


def start(python: Path, sample: Path, work: Path, port: int, workers: int) -> subprocess.Popen:
    """Seed the sample's database and start it under gunicorn; returns once it answers."""
    (work / "bench_wsgi.py").write_text(WSGI)
    env = dict(
        os.environ,
        SECRET_KEY="bench-secret",
        DATABASE_URI=f"sqlite:///{work / 'sample.sqlite'}",
        PYTHONPATH=f"{sample}{os.pathsep}{work}",
    )
    subprocess.run([str(python), "-c", SEED], check=True, cwd=sample, env=env)
    gunicorn = python.parent / "gunicorn"
    command = [str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    server = subprocess.Popen(
        [*command, "bench_wsgi:app"],
        cwd=sample,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return wait_until_up(server, f"http://127.0.0.1:{port}/", "the sample", seconds=60)


class Resident:
    """One phone: its keep-alive connection and the sample's session cookie."""

    def __init__(self, n: int, port: int) -> None:
        self.n = n
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie = ""

    def request(self, method: str, path: str, params: dict[str, str]) -> str:
        """One request with Twilio's SMS parameters; returns the TwiML, keeping the cookie."""
        body = urlencode(params)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if method == "GET":
            self.connection.request("GET", f"{path}?{body}", headers=headers)
        else:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            self.connection.request("POST", path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode()
        if response.status != 200:
            raise SystemExit(f"the sample answered {response.status} to {method} {path}")
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return text

    def message(self, body: str) -> None:
        """Send one SMS and follow the sample's redirects as Twilio would."""
        params = {"MessageSid": f"SM{time.time_ns():x}{self.n}", "From": phone(self.n)}
        params |= {"To": OUR_NUMBER, "Body": body}
        twiml = self.request("GET", "/message", params)
        for _ in range(4):
            if "<Redirect" not in twiml:
                return
            tag = twiml[twiml.index("<Redirect") : twiml.index("</Redirect>")]
            method = "GET" if 'method="GET"' in tag else "POST"
            path = urlsplit(tag[tag.index(">") + 1 :].replace("&amp;", "&")).path
            twiml = self.request(method, path, params)


def drive(port: int, participants: int, lanes: int) -> tuple[int, float, list[float]]:
    """Every resident says hello, then answers the four questions; returns (messages,
    seconds, per-message latencies)."""
    latencies: list[float] = []
    lock = threading.Lock()

    def lane(index: int) -> None:
        mine: list[float] = []
        for n in range(index, participants, lanes):
            resident = Resident(n, port)
            for body in ["hello", *ANSWERS]:
                began = time.perf_counter()
                resident.message(body)
                mine.append(time.perf_counter() - began)
            resident.connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=lane, args=(i,)) for i in range(lanes)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies), time.perf_counter() - began, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=Path, required=True, help="a clone of the sample")
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--lanes", type=int, default=16, help="residents answering at once")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    if not (args.sample / "automated_survey_flask").is_dir():
        raise SystemExit(f"{args.sample} is not a clone of automated-survey-flask")
    with tempfile.TemporaryDirectory(prefix="twilio-sample-") as folder:
        work = Path(folder)
        print("installing the sample's dependencies (a minute) ...", flush=True)
        python = install(work / "venv")
        server = start(python, args.sample.resolve(), work, args.port, args.workers)
        try:
            load_before = load_average()
            cpu_before = tree_cpu_seconds(server.pid)
            count, seconds, latencies = drive(args.port, args.participants, args.lanes)
            cpu_after = tree_cpu_seconds(server.pid)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        with sqlite3.connect(work / "sample.sqlite") as database:
            (stored,) = database.execute("SELECT count(*) FROM answers").fetchone()
    expected = args.participants * len(ANSWERS)
    if stored != expected:
        raise SystemExit(f"the sample stored {stored:,} answers, expected {expected:,}")
    cpu = (
        f", gunicorn CPU {(cpu_after - cpu_before) / count * 1000:.2f} ms/message"
        if cpu_before is not None and cpu_after is not None
        else ""
    )
    print(
        f"Twilio's survey sample, {args.workers} sync workers, {args.lanes} lanes: "
        f"{count:,} messages in {seconds:.1f} s = {count / seconds:,.0f}/s, "
        f"p50 {percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms"
        f"{cpu}; load average {load_before:.1f} before, {load_average():.1f} after"
    )


if __name__ == "__main__":
    main()
