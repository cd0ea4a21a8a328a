"""The reader: a self-contained HTML page of a finished job, with its assets beside it.

The page draws the comic with the web client's own module (``templates/comic.js`` links to
``web/src/comic.js``, and ``comic.css`` to its stylesheet), inlined into the page: lettering
as live text over each image, the full text under it, and "Play all" with the read-along
highlight. It needs no network and no server: open ``index.html`` from the disk.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path
from typing import Any

import requests

# Everything the page shows comes from the job itself; links to the private bucket are
# short-lived and would only leak into the file, so they are left out.
_SIGNED_FIELDS = ("url", "expiresAt")

_PAGE = """<!doctype html>
<html lang="{lang}" dir="{dir}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
{comic_css}
  :root {{ color-scheme: light; --ink: #1f1d1a; --paper: #f6f1e7; --muted: #5b554d;
          --card: #fffdf8; }}
  body {{ margin: 0; font: 16px/1.5 system-ui, sans-serif;
          background: var(--paper); color: var(--ink); }}
  header {{ padding: 2rem 1rem 1rem; text-align: center; }}
  header h1 {{ margin: 0 0 .25rem; font-size: 2rem; }}
  header p {{ margin: 0; color: var(--muted); }}
  main {{ max-width: 820px; margin: 0 auto; padding: 1rem; }}
  #panels {{ list-style: none; margin: 0; padding: 0; display: grid; gap: 1.5rem; }}
  .panel {{ background: var(--card); border: 3px solid var(--ink); border-radius: 6px;
           box-shadow: 4px 4px 0 var(--ink); overflow: hidden; scroll-margin: 9rem; }}
  .panel-art {{ border-bottom: 3px solid var(--ink); background: #eee7d9; }}
  .panel-art img {{ display: block; width: 100%; height: auto; }}
  .panel-placeholder {{ padding: 3rem 1rem; text-align: center; color: var(--muted); }}
  .panel-number {{ position: absolute; z-index: 1;
                  min-width: 1.8rem; height: 1.8rem; display: grid; place-items: center;
                  font-weight: 800; background: var(--paper); border: 2px solid var(--ink);
                  border-radius: 50%; }}
  figcaption {{ padding: .75rem 1rem 1rem; display: grid; gap: .5rem; }}
  audio {{ width: 100%; }}
  .failed {{ padding: 2rem 1rem; background: #fdecea; color: #8a1c12; }}
  .button {{ font: inherit; font-weight: 700; padding: .5rem 1rem; border: 2px solid var(--ink);
            border-radius: 8px; background: #fff; color: var(--ink); cursor: pointer; }}
  .button--primary {{ background: #c2410c; color: #fff; }}
  .button:disabled {{ opacity: .5; cursor: default; }}
  .button:focus-visible {{ outline: 3px solid #2d6cdf; outline-offset: 2px; }}
  [hidden] {{ display: none !important; }}
</style>
</head>
<body>
<header><h1>{title}</h1><p lang="en" dir="ltr">{summary}</p></header>
<main>
<noscript>{text_only}</noscript>
<ol id="panels" aria-label="Panels"></ol>
</main>
<script type="application/json" id="comic-data">{data}</script>
<script type="module">
{comic_js}
// ---- the reader -------------------------------------------------------------------------
const comic = JSON.parse(document.getElementById('comic-data').textContent);
const list = document.getElementById('panels');
for (const panel of comic.panels) {{
  const item = document.createElement('li');
  item.className = `panel panel--${{panel.status}}`;
  item.dataset.index = String(panel.index);
  item.dataset.status = panel.status;
  item.id = `panel-${{panel.index + 1}}`;
  if (panel.status === 'done') {{
    const badge = document.createElement('span');
    badge.className = 'panel-number';
    badge.textContent = String(panel.index + 1);
    item.append(
      panelFigure(panel, {{
        imageUrl: panel.localImage,
        audioUrl: panel.localAudio,
        language: comic.language,
        badge,
      }}),
    );
  }} else {{
    const failed = document.createElement('p');
    failed.className = 'failed';
    failed.textContent = `Panel ${{panel.index + 1}} was not drawn: ${{
      panel.error?.message || 'no reason was recorded'
    }}`;
    item.append(failed);
  }}
  list.append(item);
}}
const readAlong = createReadAlong(list);
list.before(readAlong.controls);
</script>
</body>
</html>
"""


def _template(name: str) -> str:
    return (resources.files("panelflow_cli") / "templates" / name).read_text(encoding="utf-8")


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no "</" can close it early."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def _unsigned(asset: dict[str, Any] | None) -> dict[str, Any] | None:
    if not asset:
        return None
    return {key: value for key, value in asset.items() if key not in _SIGNED_FIELDS}


def _text_only(panel: dict[str, Any]) -> str:
    """A panel's whole text as plain HTML, for a browser with scripts turned off."""
    number = int(panel["index"]) + 1
    parts = [f"<h2>{number}</h2>"]
    for key in ("caption", "narration"):
        if panel.get(key):
            parts.append(f"<p>{html.escape(panel[key])}</p>")
    for line in panel.get("dialogue") or []:
        speaker = html.escape(line.get("speaker") or "Narrator")
        parts.append(f"<p><strong>{speaker}:</strong> {html.escape(line.get('text', ''))}</p>")
    return "".join(parts)


def _download(session: requests.Session, asset: dict[str, Any], target: Path) -> None:
    if target.exists():
        return
    response = session.get(asset["url"], timeout=30)
    response.raise_for_status()
    target.write_bytes(response.content)


def write_reader(job: dict[str, Any], out_dir: Path) -> Path:
    """Downloads the job's images and audio into ``out_dir`` and writes ``index.html``.

    ``job`` is what ``GET /jobs/{jobId}`` answered: its asset links are signed for that read
    and short-lived, so they are used at once and the reader keeps local copies.
    """
    assets = out_dir / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    session = requests.Session()
    panels = []
    for panel in job.get("panels", []):
        shown = {**panel, "image": _unsigned(panel.get("image"))}
        shown["audio"] = _unsigned(panel.get("audio"))
        shown.pop("lease", None)
        for kind in ("image", "audio"):
            asset = panel.get(kind)
            if not asset or not asset.get("url"):
                continue
            target = assets / f"{int(panel['index']):03d}-{Path(asset['path']).name}"
            _download(session, asset, target)
            shown["localImage" if kind == "image" else "localAudio"] = f"assets/{target.name}"
        panels.append(shown)
    done = sum(1 for panel in panels if panel.get("status") == "done")
    summary = " · ".join(
        part
        for part in (
            f"{done} of {job.get('panelCount', len(panels))} panels",
            job.get("style", ""),
            job.get("status", ""),
        )
        if part
    )
    language = job.get("language") or "en"
    data = {"title": job.get("title") or "Untitled", "language": language, "panels": panels}
    page = _PAGE.format(
        lang=html.escape(language),
        dir="rtl" if language.split("-")[0].lower() in _RTL else "ltr",
        title=html.escape(job.get("title") or "Untitled"),
        summary=html.escape(summary),
        text_only="".join(_text_only(panel) for panel in panels),
        data=_script_json(data),
        comic_css=_template("comic.css"),
        comic_js=_template("comic.js"),
    )
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


# The languages written right to left, as comic.js has them (textDirection).
_RTL = frozenset({"ar", "he", "fa", "ur", "yi", "ps", "sd", "ug"})
