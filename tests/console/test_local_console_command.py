"""`python -m local console` as the README says to run it: the page at the address it prints, the
API beside it, and its small demo campaign running to COMPLETED on the sandbox."""

from __future__ import annotations

import time

import requests

from tests.servers import serve, stop


def test_the_local_console_serves_the_page_and_its_demo_clones_complete():
    process, drain, url = serve(
        [
            "local",
            "console",
            "--port",
            "0",
            "--demo-clones",
            "3",
            "--demo-every",
            "0.2",
            "--sandbox-clone-seconds",
            "2",
        ],
        r"console on (http://127\.0\.0\.1:\d+/) ",
    )
    try:
        page = requests.get(url, timeout=30)
        assert page.status_code == 200 and 'src="/console.js"' in page.text
        assert requests.get(f"{url}config.json", timeout=30).json()["mode"] == "local"
        deadline, counts = time.monotonic() + 120, {}
        while time.monotonic() < deadline:
            figures = requests.get(f"{url}v1/campaign", timeout=30).json()
            counts = figures["counts"]
            if counts["COMPLETED"] == 3:
                break
            time.sleep(0.5)
        assert counts["COMPLETED"] == 3 and figures["running"] == 0, counts
        assert figures["slots"]["max"] == 4  # the local console's MaxClonesInFlight
    finally:
        stop(process, drain)
