"""The operator console in a real browser: Debian's Chromium, driven by Selenium through Debian's
chromedriver, over the console of a local stack of its own (the page and the API beside it)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import requests

from local.ecwid_sandbox import SandboxConfig
from local.serving import console_server
from local.stack import LocalStack

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
LAPTOP = {"width": 1440, "height": 900, "deviceScaleFactor": 1, "mobile": False}
MAX_CLONES_IN_FLIGHT = 2


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    log_path = tmp_path_factory.mktemp("logs") / "lambda.log"
    with LocalStack(
        sandbox_config=SandboxConfig(queued_seconds=0.3, clone_seconds=3.0), poll_scale=0.02, log_path=log_path
    ) as running:
        running.configure(MAX_CLONES_IN_FLIGHT=str(MAX_CLONES_IN_FLIGHT))
        yield running


@pytest.fixture(scope="package")
def console(stack):
    with console_server(stack, refresh_seconds=1.0).start() as serving:
        yield serving


class ConsoleApi:
    """The API as the page reaches it: /v1 on the console's own origin."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/") + "/v1"

    def __call__(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        answer = requests.request(method, self.base_url + path, json=body, timeout=30)
        return answer.status_code, answer.json()


@pytest.fixture(scope="package")
def api(console) -> ConsoleApi:
    return ConsoleApi(console.url)


@pytest.fixture(scope="package")
def browser(tmp_path_factory):
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not (Path(path).exists() or shutil.which(path))]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found: `make browser` installs Debian's chromium and chromium-driver "
            "(apt-get install -y chromium chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", LAPTOP)  # a laptop's screen, exactly
    yield driver
    driver.quit()
