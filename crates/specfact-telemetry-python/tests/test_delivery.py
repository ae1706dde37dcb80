"""Delivery from a Python host: the `specfact-telemetry` program installed beside the
package is the detached uploader; the host never waits for the collector."""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import clean_env, read_events, run_python
from specfact_telemetry import _uploader

CODE = """
import specfact_telemetry.compat as c
with c.telemetry.track_command("plan.init", {"mode": "cicd"}):
    pass
print(c.telemetry.last_event["event_id"])
"""


def test_the_uploader_program_is_installed_beside_the_package():
    path = _uploader.find()
    assert path is not None, "specfact-telemetry is not installed in this environment's scripts directory"
    assert os.path.basename(path) == _uploader.PROGRAM
    assert os.access(path, os.X_OK)


@pytest.fixture
def collector():
    bodies: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if self.headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            bodies.append(body)
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces", bodies
    server.shutdown()
    server.server_close()


def test_events_reach_a_loopback_collector_after_the_host_exits(home, collector):
    endpoint, bodies = collector
    done = run_python(CODE, clean_env(home, SPECFACT_TELEMETRY_OPT_IN="true", SPECFACT_TELEMETRY_ENDPOINT=endpoint))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    event_id = done.stdout.strip()
    deadline = time.monotonic() + 20
    while not bodies and time.monotonic() < deadline:
        time.sleep(0.05)
    assert bodies, "the uploader delivered nothing"
    assert b"specfact.plan.init" in b"".join(bodies)
    [event] = read_events(home / ".specfact" / "telemetry.log")
    assert event["event_id"] == event_id


def test_a_black_holed_collector_does_not_hold_the_host(home):
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)  # accepts connections (the kernel does) and never answers
    try:
        endpoint = f"http://127.0.0.1:{hole.getsockname()[1]}/v1/traces"
        env = clean_env(home, SPECFACT_TELEMETRY_OPT_IN="true", SPECFACT_TELEMETRY_ENDPOINT=endpoint)
        done = run_python(CODE, env, timeout=30)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
    finally:
        hole.close()


def test_the_installed_program_is_the_specfact_telemetry_cli(home):
    program = _uploader.find()
    assert program is not None
    done = subprocess.run(
        [program, "status", "--json"], env=clean_env(home), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["enabled"] is False
    assert list(home.iterdir()) == []  # status creates nothing while telemetry is off
