"""The README a newcomer reads first, checked as the site's pages are by `make docs` (mkdocs
--strict): short, the two commands on its first screen, every link it gives leading somewhere,
and its state machine diagram naming every step the ASL runs."""

from __future__ import annotations

import json
import re

from local.template_model import ROOT

README = ROOT / "README.md"
ASL = ROOT / "statemachine" / "clone_store.asl.json"
FIRST_SCREEN = 40  # lines


def github_anchor(heading: str) -> str:
    """The id GitHub (and mkdocs' toc) gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_readme_is_short_with_the_two_commands_on_its_first_screen():
    lines = README.read_text().splitlines()
    assert len(lines) < 200
    first_screen = "\n".join(lines[:FIRST_SCREEN])
    assert "make demo" in first_screen and "make test" in first_screen


def test_every_relative_link_of_the_readme_leads_to_a_file_and_heading_that_exist():
    links = re.findall(r"\]\(([^)\s]+)\)", README.read_text())
    relative = [link for link in links if "://" not in link and not link.startswith("mailto:")]
    assert relative
    for link in relative:
        path, _, anchor = link.partition("#")
        target = (README.parent / path) if path else README
        assert target.is_file(), link
        if anchor:
            headings = re.findall(r"^#+ (.+)$", target.read_text(), re.MULTILINE)
            assert anchor in {github_anchor(heading) for heading in headings}, link


def test_the_readme_state_machine_names_every_task_of_the_asl():
    """The diagram may fold the budget's Choice/Wait pairs and the event-failure recorders
    (shown as "failure: recorded"), never a step that does work."""
    text = README.read_text()
    diagram = text[text.index("```mermaid") : text.index("```\n", text.index("```mermaid") + 3)]
    drawn = set(re.findall(r"\b([A-Z]\w+)\b", diagram))
    states = json.loads(ASL.read_text())["States"]
    tasks = {
        name
        for name, state in states.items()
        if state["Type"] == "Task" and not re.fullmatch(r"Record\w+EventFailure", name)
    }
    assert tasks and tasks <= drawn, sorted(tasks - drawn)
