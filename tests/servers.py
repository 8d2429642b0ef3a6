"""The repo's servers (python -m local api, python -m console...) as processes of a test."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import pytest

from local.template_model import ROOT


def serve(command: list[str], ready: str, env: dict[str, str] | None = None):
    """A server process of the repo's, and the URL it says it serves on."""
    process = subprocess.Popen(
        [sys.executable, "-m", *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline, url = time.monotonic() + 120, None
    while url is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        found = re.search(ready, line)
        url = found.group(1) if found else None
    if url is None:
        process.kill()
        pytest.fail(f"{' '.join(command)} did not start: {process.stdout.read()}")
    drain = subprocess.Popen(["cat"], stdin=process.stdout, stdout=subprocess.DEVNULL)  # a full pipe never blocks it
    return process, drain, url


def stop(process, drain) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
    drain.kill()
