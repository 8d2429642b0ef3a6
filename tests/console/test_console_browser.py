"""The operator console in Chromium, over the local stack, as an operator uses it: clones started
move to COMPLETED live on the page; one opens with its timeline and events; a mapping is looked
up; a waiting clone is cancelled and a failed one retried through the buttons; the campaign's
charts say what the API says; a bulk cancel shows its dry-run count before it acts.

The page stays open from test to test (the campaign charts what it sampled meanwhile): the tests
of this file run in order, on one page. Screenshots go to docs/ with CONSOLE_SCREENSHOTS=1
(`make screenshots`), else next to the test's temporary files.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from local.template_model import ROOT
from tests.console.conftest import MAX_CLONES_IN_FLIGHT

TEMPLATE = 1003
SLOW_SOURCE = 1095  # its clones stay IN_PROGRESS for ten minutes: they hold their slots while the tests look
_targets = itertools.count(2001)


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    return ROOT / "docs" if os.environ.get("CONSOLE_SCREENSHOTS") == "1" else tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def page(browser, console):
    """The console, loaded once: it stays open from test to test."""
    browser.get(console.url)
    wait(browser, lambda d: "live" in css(d, "#live-text").text, "it live")
    return browser


def wait(driver, condition, what: str, timeout: float = 90):
    """Until ``condition(driver)`` is truthy (its value); the page refreshes itself meanwhile."""
    # The page redraws what changed between two looks: an element read mid-redraw is read again.
    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, poll_frequency=0.2, ignored_exceptions=ignored).until(
        lambda d: condition(d), message=f"the page never showed {what}"
    )


def css(driver, selector: str):
    return driver.find_element(By.CSS_SELECTOR, selector)


def tab_count(driver, status: str) -> int:
    text = css(driver, f'[data-count="{status}"]').text.replace(",", "")
    return int(text) if text.isdigit() else -1


def shown_ids(driver) -> set[str]:
    return {row.get_attribute("data-clone-id") for row in driver.find_elements(By.CSS_SELECTOR, "#clones-body tr")}


def start(api, body: dict) -> str:
    status, answer = api("POST", "/clones", body)
    assert status == 202, answer
    return answer["cloneId"]


def wait_for_status(api, clone_id: str, statuses: tuple[str, ...], timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        _, clone = api("GET", f"/clones/{clone_id}")
        if clone.get("status") in statuses:
            return clone
        assert time.monotonic() < deadline, f"{clone_id} never reached {statuses}: {clone.get('status')}"
        time.sleep(0.3)


def open_clone(driver, clone_id: str) -> None:
    """As an operator does: the clone's link in the list (the list shows the tab it is in)."""
    link = wait(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, f'#clones-body tr[data-clone-id="{clone_id}"] a'),
        f"{clone_id} in the list",
    )
    link[0].click()
    wait(driver, lambda d: css(d, "#view-clone").get_attribute("data-clone-id") == clone_id, f"clone {clone_id}")


def show_tab(driver, status: str) -> None:
    css(driver, "#nav-clones").click()
    wait(driver, lambda d: d.find_elements(By.ID, f"tab-{status}"), "the status tabs")
    css(driver, f"#tab-{status}").click()
    wait(driver, lambda d: css(d, f"#tab-{status}").get_attribute("aria-selected") == "true", f"the {status} tab")


def confirm(driver, expect_title: str) -> None:
    dialog = wait(driver, lambda d: css(d, "#confirm").is_displayed() and css(d, "#confirm"), "the confirm dialog")
    assert expect_title in css(driver, "#confirm-title").text
    css(driver, "#confirm-ok").click()
    wait(driver, lambda d: not dialog.is_displayed(), "the dialog closed")


def test_clones_started_move_to_completed_live(page, api, stack, shots):
    browser = page
    completed_before = tab_count(browser, "COMPLETED")

    # Three clones through the API (a signup system's way), one through the page's form.
    started = [start(api, {"sourceStoreId": TEMPLATE, "targetStoreId": next(_targets), "scope": "CATALOG"})]
    started.append(
        start(
            api,
            {
                "sourceStoreId": TEMPLATE,
                "merchant": {"email": "ann@example.com", "name": "Ann Owner"},
                "instantSite": {"draft": True},
            },
        )
    )
    started.append(start(api, {"sourceStoreId": TEMPLATE, "targetStoreId": next(_targets)}))
    css(browser, "#new-clone summary").click()
    form = css(browser, "#new-clone-form")
    form.find_element(By.NAME, "targetStoreId").send_keys(str(next(_targets)))
    form.find_element(By.NAME, "scope").send_keys("catalog only")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    from_form = wait(
        browser,
        lambda d: d.current_url.split("#/clone/")[-1] if "#/clone/" in d.current_url else None,
        "the new clone's page",
    )
    started.append(from_form)

    # Back to the list: they run (two at a time: MaxClonesInFlight 2), then complete, live.
    css(browser, "#back-link").click()
    running_seen = wait(browser, lambda d: set(started) & shown_ids(d), "the clones running")
    assert running_seen and tab_count(browser, "RUNNING") >= 1
    wait(browser, lambda d: tab_count(d, "COMPLETED") == completed_before + 4, "four more clones completed")
    wait(browser, lambda d: tab_count(d, "RUNNING") == 0, "no clone running")
    show_tab(browser, "COMPLETED")
    wait(browser, lambda d: set(started) <= shown_ids(d), "the four clones in the Completed tab")
    statuses = {row.get_attribute("data-status") for row in browser.find_elements(By.CSS_SELECTOR, "#clones-body tr")}
    assert statuses == {"COMPLETED"}


def test_a_clone_opens_with_its_timeline_events_and_a_mapping_lookup(page, api, shots):
    browser = page
    _, page = api("GET", "/clones?status=COMPLETED&limit=100")
    merchant_clone = next(c for c in page["clones"] if c.get("merchant"))
    show_tab(browser, "COMPLETED")
    open_clone(browser, merchant_clone["cloneId"])

    assert css(browser, "#clone-status").get_attribute("data-status") == "COMPLETED"
    assert css(browser, '[data-field="targetStoreId"]').text == str(merchant_clone["targetStoreId"])
    assert "ann@example.com" in css(browser, '[data-field="merchant"]').text
    assert "Completed" in css(browser, '[data-field="instantSite"]').text
    assert "Completed" in css(browser, '[data-field="profile"]').text
    # The timeline bar: a segment per phase run, as long as the API's seconds say.
    _, timeline = api("GET", f"/clones/{merchant_clone['cloneId']}/timeline")
    segments = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#timeline-bar .seg"), "the timeline bar")
    phases = [segment.get_attribute("data-phase") for segment in segments]
    assert phases[0] == "slotWait" and {"storeCreation", "ecwidInProgress", "mapping", "instantSite", "events"} <= set(
        phases
    )
    shown = sum(float(segment.get_attribute("data-seconds")) for segment in segments)
    assert shown == pytest.approx(sum(step["seconds"] for step in timeline["steps"]), abs=0.05)
    widths = {segment.get_attribute("data-phase"): segment.size["width"] for segment in segments}
    longest = max(timeline["phases"], key=timeline["phases"].get)
    assert widths[longest] == max(widths.values())  # the bar is drawn to scale
    legend = {
        item.get_attribute("data-phase") for item in browser.find_elements(By.CSS_SELECTOR, "#timeline-legend li")
    }
    assert legend == {phase for phase, spent in timeline["phases"].items() if spent > 0}
    # The events sent: what the API's timeline lists, published.
    events = [
        (e.get_attribute("data-detail-type"), e.get_attribute("data-outcome"))
        for e in browser.find_elements(By.CSS_SELECTOR, "#events-list li")
    ]
    assert events == [("Store Created", "published"), ("Clone Completed", "published")]

    # A mapping: source ID in, target ID out, as GET /stores/{target}/mappings/... answers.
    sample = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#mapping-samples button"), "mapped IDs")[0]
    source_id = sample.get_attribute("data-source-id")
    field = css(browser, "#mapping-source")
    field.clear()
    field.send_keys(source_id, Keys.ENTER)
    result = wait(browser, lambda d: css(d, "#mapping-result").get_attribute("data-target-id"), "the lookup")
    _, looked_up = api("GET", f"/stores/{merchant_clone['targetStoreId']}/mappings/products/{source_id}")
    assert result == looked_up["targetId"]
    browser.save_screenshot(str(shots / "console-clone.png"))
    field.clear()
    field.send_keys("999999999999", Keys.ENTER)
    wait(
        browser,
        lambda d: "No source product 999999999999" in css(d, "#mapping-result").text,
        "a lookup that finds nothing",
    )


def test_a_failed_clone_is_retried_through_its_button(page, api, stack):
    browser = page
    stack.sandbox.faults.failed_ticket_rate = 1.0
    try:
        failed = start(api, {"sourceStoreId": TEMPLATE, "targetStoreId": next(_targets), "scope": "CATALOG"})
        assert wait_for_status(api, failed, ("FAILED",))["errorCode"] == "CLONE_FAILED"
    finally:
        stack.sandbox.faults.failed_ticket_rate = 0.0
    show_tab(browser, "FAILED")
    open_clone(browser, failed)

    css(browser, "#retry-button").click()
    confirm(browser, f"Retry {failed}")

    attempt_id = wait(
        browser,
        lambda d: (shown := css(d, "#view-clone").get_attribute("data-clone-id")) != failed and shown,
        "the new attempt",
    )
    assert attempt_id == f"{failed}-a2"
    wait(
        browser, lambda d: css(d, "#clone-status").get_attribute("data-status") == "COMPLETED", "the attempt completed"
    )
    assert css(browser, '[data-field="attempt"]').text == "2"
    assert failed in css(browser, '[data-field="retryOf"]').text
    _, old = api("GET", f"/clones/{failed}")
    assert old["retriedBy"] == attempt_id


def test_the_campaign_charts_what_the_api_says_and_a_waiting_clone_is_cancelled(page, api, stack, shots):
    browser = page
    stack.sandbox.add_store(SLOW_SOURCE, products=5, categories=1, clone_seconds=600)
    slow = [start(api, {"sourceStoreId": SLOW_SOURCE, "targetStoreId": next(_targets)}) for _ in range(5)]
    for clone_id in slow[:MAX_CLONES_IN_FLIGHT]:
        wait_for_status(api, clone_id, ("IN_PROGRESS",))
    for clone_id in slow[MAX_CLONES_IN_FLIGHT:]:
        wait_for_status(api, clone_id, ("WAITING",))

    css(browser, "#nav-campaign").click()
    # Each chart keeps its figures as data attributes (in-flight, max, waiting...).
    figures = {"in-flight": "#chart-slots", "max": "#chart-slots", "waiting": "#chart-line"}

    def charted(d):
        _, campaign = api("GET", "/campaign")
        shown = {name: css(d, chart).get_attribute(f"data-{name}") for name, chart in figures.items()}
        expected = {
            "in-flight": campaign["slots"]["inFlight"],
            "max": campaign["slots"]["max"],
            "waiting": campaign["slots"]["waiting"],
        }
        return shown == {name: str(value) for name, value in expected.items()} and (shown, campaign)

    shown, campaign = wait(browser, charted, "the API's slots and line")
    assert shown == {"in-flight": "2", "max": "2", "waiting": "3"}
    # The chart's own words say it too.
    assert "2 of 2" in css(browser, "#chart-slots .headline").text
    assert css(browser, '#chart-line .legend [data-series="waiting"]').get_attribute("data-value") == "3"
    drain = float(css(browser, "#chart-line").get_attribute("data-drain-seconds"))
    assert drain > 0
    requests_a_minute = wait(
        browser, lambda d: css(d, "#chart-requests").get_attribute("data-requests-per-minute"), "a request rate"
    )
    assert int(requests_a_minute) > 0  # the slow clones' polls, at least
    assert int(css(browser, "#chart-requests").get_attribute("data-budget-per-minute")) == round(
        campaign["budget"]["perMinute"] / campaign["budget"]["timeScale"]
    )
    assert css(browser, "#chart-status svg path[data-series]") is not None
    browser.save_screenshot(str(shots / "console-campaign.png"))
    show_tab(browser, "RUNNING")
    wait(browser, lambda d: set(slow) <= shown_ids(d), "the slow clones, running and waiting")
    browser.save_screenshot(str(shots / "console-clones.png"))

    # Cancel one waiting clone through its button.
    waiting = slow[-1]
    show_tab(browser, "WAITING")
    open_clone(browser, waiting)
    css(browser, "#cancel-button").click()
    css(browser, "#cancel-reason").send_keys("wrong template")
    confirm(browser, f"Cancel {waiting}")
    wait(browser, lambda d: css(d, "#clone-status").get_attribute("data-status") == "CANCELLED", "it cancelled")
    assert "wrong template" in css(browser, '[data-field="cancelled"]').text
    _, job = api("GET", f"/clones/{waiting}")
    assert (job["status"], job["cancelReason"]) == ("CANCELLED", "wrong template")
    wait(
        browser,
        lambda d: (
            [e.get_attribute("data-detail-type") for e in d.find_elements(By.CSS_SELECTOR, "#events-list li")]
            == ["Clone Failed"]
        ),
        "the cancel's event",
    )


def test_a_bulk_cancel_shows_its_dry_run_count_before_it_acts(page, api):
    browser = page
    show_tab(browser, "WAITING")
    wait(browser, lambda d: tab_count(d, "WAITING") == 2, "two clones still waiting")
    css(browser, "#bulk-button").click()
    count = wait(browser, lambda d: d.find_elements(By.ID, "bulk-dry-run"), "the dry run's count")[0]
    assert count.get_attribute("data-matched") == "2" and count.text.startswith("2 clones match")
    confirm(browser, "Cancel 2 clones?")
    wait(browser, lambda d: css(d, "#bulk-progress").get_attribute("data-status") == "COMPLETED", "the bulk done")
    assert "2 of 2 done, 0 failed, 0 skipped" in css(browser, "#bulk-progress").text
    wait(browser, lambda d: tab_count(d, "WAITING") == 0, "no clone waiting")

    # The slow ones in flight too, from their tab: the slots come back.
    show_tab(browser, "IN_PROGRESS")
    wait(browser, lambda d: tab_count(d, "IN_PROGRESS") == 2, "two in progress")
    css(browser, "#bulk-button").click()
    confirm(browser, "Cancel 2 clones?")
    wait(browser, lambda d: tab_count(d, "IN_PROGRESS") == 0, "none in progress")
    _, campaign = api("GET", "/campaign")
    assert (campaign["slots"]["inFlight"], campaign["slots"]["waiting"]) == (0, 0)


def test_the_page_logged_no_error(browser):
    # No script error, no refused style or script (the page's CSP allows only its own files), no
    # failed request but the lookup of a source ID that was never cloned (404, said on the page).
    problems = [
        entry
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE"
        and not (
            entry["source"] == "network" and "/mappings/" in entry["message"] and "status of 404" in entry["message"]
        )
    ]
    assert problems == []
