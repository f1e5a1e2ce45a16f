"""`restrat-sync sandbox` as a process: it announces itself, serves, and stops on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import requests


def test_sandbox_command_serves_and_stops_on_sigterm() -> None:
    """The command prints URLs and credentials, answers on loopback, and exits 0 on SIGTERM."""
    command = [sys.executable, "-m", "restrat_sync", "sandbox", "--port", "0"]
    command += ["--flavor", "datacenter"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        try:
            assert process.stdout is not None
            lines = [process.stdout.readline() for _ in range(6)]
            url = lines[1].split()[-1]
            assert url.startswith("http://127.0.0.1:")
            assert "sandbox@example.com / sandbox-token" in lines[3]
            auth = ("sandbox@example.com", "sandbox-token")
            info = requests.get(f"{url}/rest/api/2/serverInfo", auth=auth, timeout=5)
            assert info.json()["deploymentType"] == "DataCenter"
            process.send_signal(signal.SIGTERM)
            started = time.monotonic()
            assert process.wait(timeout=10) == 0
            assert time.monotonic() - started < 10
            assert "sandbox stopped" in process.stdout.read()
        finally:
            process.kill()  # a no-op once it has exited; never leave a server behind
