"""The Lambdas' wiring (runtime.py): every service it builds once is forgotten by reset_caches,
which the local stack calls whenever it changes the environment."""

from __future__ import annotations

import ast
from pathlib import Path

from ecwid_cloner import runtime


def cached_in_source() -> list[str]:
    """The functions of runtime.py under a functools cache decorator, read from its source."""
    tree = ast.parse(Path(runtime.__file__).read_text())
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any("cache" in ast.unparse(decorator) for decorator in node.decorator_list)
    ]


def test_reset_caches_clears_every_cached_builder(monkeypatch):
    cached = cached_in_source()
    assert len(cached) >= 25 and "settings" in cached and "_app_client" in cached  # the parse found them
    cleared: list[str] = []
    for name in cached:
        monkeypatch.setattr(getattr(runtime, name), "cache_clear", lambda name=name: cleared.append(name))

    runtime.reset_caches()

    assert sorted(cleared) == sorted(cached)


def test_a_reset_builds_anew_from_the_environment(monkeypatch):
    monkeypatch.setenv("JOBS_TABLE_NAME", "jobs-a")
    monkeypatch.setenv("MAPPINGS_TABLE_NAME", "mappings")
    monkeypatch.setenv("ECWID_CREDENTIALS_SECRET", "secret")
    runtime.reset_caches()
    assert runtime.settings().jobs_table == "jobs-a"
    monkeypatch.setenv("JOBS_TABLE_NAME", "jobs-b")
    assert runtime.settings().jobs_table == "jobs-a", "built once"

    runtime.reset_caches()

    assert runtime.settings().jobs_table == "jobs-b"
    runtime.reset_caches()
