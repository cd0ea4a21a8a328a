from collections.abc import Iterator

import pytest
from browsers import CHROMIUM_ARGS, chromium_executable
from playwright.sync_api import Browser, Playwright, sync_playwright

from emulator_fixtures import local_stack, stack_env  # noqa: F401


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One Chromium per test module; each test opens contexts of its own in it."""
    launched = playwright.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
    try:
        yield launched
    finally:
        launched.close()
