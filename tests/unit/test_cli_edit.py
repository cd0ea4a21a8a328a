"""`panelflow edit` and `panelflow translate`: the bodies they send and what they print."""

from __future__ import annotations

from typing import Any

import pytest

from panelflow_cli import main as cli
from panelflow_cli.client import ApiError


class RecordingApi:
    """The two API calls the commands make, recorded; ``refuse`` answers them with an error."""

    def __init__(self, refuse: ApiError | None = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.refuse = refuse

    def edit_panel(self, job_id: str, index: int, changes: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("edit", (job_id, index, changes)))
        if self.refuse:
            raise self.refuse
        return {"index": index, "redo": "speech"}

    def translate(self, job_id: str, language: str) -> dict[str, Any]:
        self.calls.append(("translate", (job_id, language)))
        if self.refuse:
            raise self.refuse
        return {"jobId": "new-job", "status": "queued"}


def _run(monkeypatch: pytest.MonkeyPatch, api: RecordingApi, *argv: str) -> int:
    monkeypatch.setattr(cli, "_client", lambda _args: api)
    args = cli.build_parser().parse_args(list(argv))
    return int(args.run(args))


def test_edit_sends_the_changes_for_the_panel_counted_from_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api = RecordingApi()
    code = _run(
        monkeypatch,
        api,
        "edit",
        "job-1",
        "2",
        "--caption",
        "Dawn.",
        "--say",
        "Mira: The light holds!",
        "--say",
        "narrator:  And it did.",
        "--prompt",
        "Mira at the lamp",
    )
    assert code == 0
    assert api.calls == [
        (
            "edit",
            (
                "job-1",
                1,
                {
                    "caption": "Dawn.",
                    "imagePrompt": "Mira at the lamp",
                    "dialogue": [
                        {"speaker": "Mira", "text": "The light holds!"},
                        {"speaker": "narrator", "text": "And it did."},
                    ],
                },
            ),
        )
    ]
    out = capsys.readouterr()
    assert '"redo": "speech"' in out.out and "redoing: speech" in out.err


def test_edit_refusals_are_readable_and_nothing_is_sent_without_a_change(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(monkeypatch, RecordingApi(), "edit", "job-1", "1") == 2
    assert "nothing to change" in capsys.readouterr().err
    refused = ApiError(
        400,
        {"error": {"errors": [{"field": "dialogue.0.speaker", "reason": "must be one of Mira"}]}},
    )
    assert _run(monkeypatch, RecordingApi(refused), "edit", "j", "1", "--say", "Zed: hi") == 2
    assert "rejected: dialogue.0.speaker: must be one of Mira" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _run(monkeypatch, RecordingApi(), "edit", "j", "1", "--say", "no colon here")


def test_translate_prints_the_new_job(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api = RecordingApi()
    assert _run(monkeypatch, api, "translate", "job-1", "fr") == 0
    assert api.calls == [("translate", ("job-1", "fr"))]
    assert capsys.readouterr().out.strip() == "new-job"
    unavailable = ApiError(
        422,
        {"error": {"code": "translation_unavailable", "message": "translation needs the Google"}},
    )
    assert _run(monkeypatch, RecordingApi(unavailable), "translate", "job-1", "fr") == 1
