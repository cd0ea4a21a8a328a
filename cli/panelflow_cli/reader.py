"""The reader: a self-contained HTML page of a finished job, with its assets beside it."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import requests

_PAGE = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  :root {{ color-scheme: light dark; --ink: #1d1d1f; --paper: #faf7f0; --muted: #6b6b6b; }}
  body {{ margin: 0; font: 16px/1.5 system-ui, sans-serif;
          background: var(--paper); color: var(--ink); }}
  header {{ padding: 2rem 1rem 1rem; text-align: center; }}
  header h1 {{ margin: 0 0 .25rem; font-size: 2rem; }}
  header p {{ margin: 0; color: var(--muted); }}
  main {{ display: grid; gap: 1.5rem; max-width: 820px; margin: 0 auto; padding: 1rem; }}
  figure {{ margin: 0; background: #fff; border: 3px solid #111; border-radius: 6px;
           overflow: hidden; box-shadow: 4px 4px 0 #111; }}
  figure img {{ display: block; width: 100%; height: auto; }}
  figcaption {{ padding: .75rem 1rem 1rem; color: #1d1d1f; }}
  .number {{ font-weight: 700; margin-right: .5rem; }}
  .dialogue {{ margin: .5rem 0; padding-left: 1rem; border-left: 3px solid #e0a800; }}
  audio {{ width: 100%; margin-top: .5rem; }}
  .failed {{ padding: 2rem 1rem; background: #fdecea; color: #8a1c12; }}
</style>
</head>
<body>
<header><h1>{title}</h1><p>{summary}</p></header>
<main>
{panels}
</main>
</body>
</html>
"""


def _panel_html(panel: dict[str, Any], image: str | None, audio: str | None) -> str:
    number = int(panel["index"]) + 1
    caption = html.escape(panel.get("caption") or "")
    lines = "".join(
        f"<div><strong>{html.escape(line['speaker'])}:</strong> {html.escape(line['text'])}</div>"
        for line in panel.get("dialogue") or []
    )
    dialogue = f'<div class="dialogue">{lines}</div>' if lines else ""
    if panel.get("status") != "done" or not image:
        reason = html.escape((panel.get("error") or {}).get("message", "not rendered"))
        body = f'<div class="failed">Panel {number} failed: {reason}</div>'
    else:
        body = f'<img src="{html.escape(image)}" alt="Panel {number}: {caption}" loading="lazy">'
    player = f'<audio controls preload="none" src="{html.escape(audio)}"></audio>' if audio else ""
    return (
        f'<figure id="panel-{number}">{body}<figcaption><span class="number">{number}</span>'
        f"{caption}{dialogue}{player}</figcaption></figure>"
    )


def write_reader(job: dict[str, Any], out_dir: Path) -> Path:
    """Downloads the job's images and audio into ``out_dir`` and writes ``index.html``.

    ``job`` is what ``GET /jobs/{jobId}`` answered: its asset links are signed for that read
    and short-lived, so they are used at once and the reader keeps local copies.
    """
    assets = out_dir / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    session = requests.Session()
    blocks = []
    for panel in job.get("panels", []):
        local = {}
        for kind in ("image", "audio"):
            asset = panel.get(kind)
            if not asset or not asset.get("url"):
                continue
            name = Path(asset["path"]).name
            target = assets / f"{int(panel['index']):03d}-{name}"
            if not target.exists():
                response = session.get(asset["url"], timeout=30)
                response.raise_for_status()
                target.write_bytes(response.content)
            local[kind] = f"assets/{target.name}"
        blocks.append(_panel_html(panel, local.get("image"), local.get("audio")))
    done = sum(1 for panel in job.get("panels", []) if panel.get("status") == "done")
    summary = " · ".join(
        [
            f"{done} of {job.get('panelCount', 0)} panels",
            job.get("style", ""),
            job.get("status", ""),
        ]
    )
    page = _PAGE.format(
        lang=html.escape(job.get("language", "en")),
        title=html.escape(job.get("title") or "Untitled"),
        summary=html.escape(summary),
        panels="\n".join(blocks),
    )
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
