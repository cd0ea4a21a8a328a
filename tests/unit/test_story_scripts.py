"""Stories in other scripts through the services with the offline providers, end to end.

In-memory stores and the real offline planner, Pillow renderer and flite voice: a Japanese
and an Arabic story come out with their own speakers, no invented people, audio or a visible
note, and lettering whose every character is in the font that draws it.
"""

from __future__ import annotations

import functools
import io
import re
from pathlib import Path

import pytest
from fontTools.ttLib import TTCollection, TTFont
from PIL import Image

from fakes.services import fake_services
from panelflow import bootstrap
from panelflow.bootstrap import Services
from panelflow.domain.models import JobRequest, JobStatus, Panel, PanelStatus
from panelflow.lettering import PanelText, chain_for, letter_panel
from panelflow.services.jobs import start_job
from panelflow.services.planning import plan_job
from panelflow.services.rendering import render_panel
from panelflow.settings import Settings

SAMPLES = Path(__file__).resolve().parents[2] / "cli" / "panelflow_cli" / "samples"

JAPANESE = """灯台守

ミラは十一年間、岬の灯台を守ってきた。その夜、空は鉛色に変わり、カモメは内陸へ飛んだ。

弟のトマスが村からパンを持って船で来た。「嵐が来る」とトマスは言った。「船団はまだ沖にいる。」

ミラは百十二段の階段を登った。『今すぐ灯をともそう』とミラは言った。

夜明けに嵐は去り、九隻の船が港で休んでいた。"""

ARABIC = """حارسة المنارة

كانت ميرا تحرس المنارة منذ أحد عشر شتاءً. في ذلك المساء تحولت السماء إلى لون الرصاص.

جاء أخوها توماس بالقارب من القرية. «العاصفة قادمة» قال توماس. «الأسطول ما زال في البحر.»

صعدت ميرا الدرجات إلى غرفة المصباح. «سنشعل المصباح الآن» قالت ميرا.

عند الفجر هدأت العاصفة، ورست تسعة قوارب في الميناء."""


@pytest.fixture
def offline(settings: Settings) -> Services:
    built = fake_services(settings, fake_providers=False)
    bootstrap.use(built)
    yield built
    bootstrap.use(None)


def _run(
    services: Services, story: str, language: str, panels: int, *, render: bool = True
) -> tuple[str, list[Panel]]:
    request = JobRequest(story=story, style="manga", panels=panels, language=language)
    job_id = start_job(services, "user-1", request).job_id
    plan_job(services, job_id)
    for queued, index in list(services.queue.panels) if render else ():
        if queued == job_id:
            render_panel(services, job_id, index)
    return job_id, services.store.list_panels(job_id)


@functools.cache
def _cmap(path: Path, index: int) -> set[int]:
    """The font's character map read here with fontTools, apart from the resolver's."""
    if path.suffix == ".ttc":
        font = TTCollection(str(path), lazy=True).fonts[index]
    else:
        font = TTFont(str(path), lazy=True)
    return set(font.getBestCmap())


def _assert_lettering_covered(panel: Panel, language: str) -> None:
    chain = chain_for(language)
    texts = [panel.caption, panel.narration] + [
        part for line in panel.dialogue for part in (line.speaker, line.text)
    ]
    for text in texts:
        runs = chain.runs(text)
        assert "".join(run.text for run in runs) == text
        for run in runs:
            cmap = _cmap(run.face.path, run.face.index)
            assert all(ord(c) in cmap for c in run.text if not c.isspace()), run


@pytest.mark.parametrize(
    ("story", "language", "names", "script"),
    [
        (JAPANESE, "ja", {"ミラ", "トマス"}, "[\u3040-\u30ff\u4e00-\u9fff]"),
        (ARABIC, "ar", {"ميرا", "توماس"}, "[\u0600-\u06ff]"),
    ],
)
def test_a_story_in_another_script_end_to_end(offline, story, language, names, script):
    job_id, panels = _run(offline, story, language, panels=4)

    job = offline.store.get_job(job_id)
    assert job.status == JobStatus.COMPLETED
    assert {c.name for c in job.characters} == names
    speakers = {line.speaker for panel in panels for line in panel.dialogue}
    assert speakers == names  # nobody called "Someone"
    for panel in panels:
        assert panel.status == PanelStatus.DONE
        assert re.search(script, panel.caption)
        # flite speaks English only: no noise, a note the reader shows instead.
        assert panel.audio is None
        assert [note["code"] for note in panel.notes] == ["voice_unavailable"]
        assert language in panel.notes[0]["message"]
        _assert_lettering_covered(panel, language)
        image = Image.open(io.BytesIO(offline.blobs.get(panel.image.path)))
        text = PanelText(panel.caption, panel.narration, panel.dialogue)
        lettered = letter_panel(image, text, language=language)
        assert lettered.width == image.width and lettered.height >= image.height
    # Both speakers of a panel stand on opposite sides, the first where reading starts.
    first = "right" if language == "ar" else "left"
    sides = [line.side for panel in panels for line in panel.dialogue]
    assert sides and sides[0] == first


def test_the_lighthouse_demo_has_exactly_two_characters_and_read_along_times(offline):
    story = (SAMPLES / "lighthouse.txt").read_text()

    job_id, panels = _run(offline, story, "en", panels=6)

    job = offline.store.get_job(job_id)
    assert [c.name for c in job.characters] == ["Mira", "Tomas"]
    for panel in panels:
        assert "\u2026" not in panel.caption
        assert not panel.caption.startswith("Tomas said")
        assert panel.audio is not None and panel.notes == []
        lines = panel.audio.lines
        expected = [("narrator", panel.narration)] + [
            (line.speaker, line.text) for line in panel.dialogue
        ]
        assert [(line.speaker, line.text) for line in lines] == expected
        previous_end = 0
        for line in lines:
            assert previous_end <= line.start_ms < line.end_ms
            previous_end = line.end_ms
        assert previous_end <= panel.audio.duration_ms
    # The last words of the story are narrated.
    assert panels[-1].narration.endswith("watched the gulls come home.")


def test_the_narration_of_a_5000_character_story_covers_every_sentence(offline):
    sentences = [
        f"On day {n} the keeper wrote a line in the log about the weather and the boats."
        for n in range(1, 200)
    ]
    paragraphs = [" ".join(sentences[i : i + 7]) for i in range(0, len(sentences), 7)]
    story = "\n\n".join(paragraphs)[:5000]
    story = story[: story.rfind(".") + 1]
    assert 4900 <= len(story) <= 5000

    _, panels = _run(offline, story, "en", panels=6, render=False)

    narration = " ".join(panel.narration for panel in panels)
    kept = [s for s in sentences if s in story]
    assert len(kept) > 60
    missing = [s for s in kept if s not in narration]
    assert missing == []
