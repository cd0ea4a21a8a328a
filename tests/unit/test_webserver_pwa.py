"""The local web server's part in the installable app: the worker's version (its headers and
/s/{token} are checked over HTTP in tests/e2e/test_mobile.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from panelflow_cli.webserver import service_worker, shell_version


@pytest.fixture
def web(tmp_path: Path) -> Path:
    root = tmp_path / "web"
    (root / "src").mkdir(parents=True)
    (root / "icons").mkdir()
    (root / "index.html").write_text("<!doctype html><title>app</title>\n")
    (root / "styles.css").write_text("body {}\n")
    (root / "src" / "app.js").write_text("export {};\n")
    (root / "icons" / "icon-192.png").write_bytes(b"png")
    (root / "sw.js").write_text("const VERSION = '__PANELFLOW_VERSION__';\n")
    (root / "manifest.webmanifest").write_text('{"name": "app"}\n')
    return root


def test_every_shell_file_changes_the_version(web: Path) -> None:
    seen = {shell_version(web)}
    for name in ("index.html", "styles.css", "src/app.js", "icons/icon-192.png"):
        with (web / name).open("a") as file:
            file.write("\n")
        seen.add(shell_version(web))
    assert len(seen) == 5
    (web / "notes.txt").write_text("not part of the shell\n")
    assert shell_version(web) in seen


def test_the_worker_gets_the_shell_version(web: Path) -> None:
    assert service_worker(web).decode() == f"const VERSION = '{shell_version(web)}';\n"


def test_a_worker_without_its_placeholder_is_refused(web: Path) -> None:
    (web / "sw.js").write_text("const VERSION = 'fixed';\n")
    with pytest.raises(ValueError, match="placeholder"):
        service_worker(web)
