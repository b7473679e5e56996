"""Shared fixtures. Each fixture module under tests/fixtures/ belongs to one concern."""
pytest_plugins = [
    "tests.fixtures.simulator",
    "tests.fixtures.packs",
    "tests.fixtures.pki",
    "tests.fixtures.http",
    "tests.fixtures.cli",
    "tests.fixtures.postgres",
    "tests.fixtures.server",
    "tests.fixtures.browser",
    "tests.fixtures.subscriber",
]
