"""The CLI reader's page is built from the web client's own comic module and stylesheet."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from panelflow_cli import reader

ROOT = Path(__file__).resolve().parents[2]


def test_the_reader_inlines_the_web_clients_files() -> None:
    templates = resources.files("panelflow_cli") / "templates"
    for name, web in (("comic.js", "web/src/comic.js"), ("comic.css", "web/src/comic.css")):
        assert (templates / name).read_text() == (ROOT / web).read_text(), name


def test_both_read_the_same_languages_right_to_left() -> None:
    script = (ROOT / "web" / "src" / "comic.js").read_text()
    listed = re.search(r"const RTL = new Set\(\[(.*?)\]\)", script, re.S)
    assert listed
    assert set(re.findall(r"'([a-z]+)'", listed[1])) == reader._RTL


def test_script_json_cannot_close_its_script_element() -> None:
    text = reader._script_json({"caption": "</script><script>alert(1)</script>"})
    assert "</" not in text
