"""The settings table: read once, documented from the same declaration, served as a catalogue."""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path

import pytest
from functions_framework import create_app

from panelflow.bootstrap import Services
from panelflow.domain.errors import ConfigurationError
from panelflow.domain.models import JobStatus, PanelStatus
from panelflow.settings import Settings, catalogue, table
from panelflow.settings.__main__ import main, readme_table, with_table

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "functions" / "orchestrator" / "main.py"
BASE = {"GOOGLE_CLOUD_PROJECT": "demo-unit"}
REGENERATE = "python -m panelflow.settings --write README.md"


def test_readme_configuration_table_is_the_generated_one() -> None:
    written = readme_table((ROOT / "README.md").read_text(encoding="utf-8"))
    generated = table.markdown()
    diff = "".join(
        difflib.unified_diff(
            written.splitlines(keepends=True),
            generated.splitlines(keepends=True),
            "README.md (Configuration)",
            "panelflow.settings.table",
        )
    )
    assert written == generated, f"README's table is out of date; run `{REGENERATE}`:\n{diff}"


def test_every_variable_is_declared_once_and_fills_a_real_field() -> None:
    names = [variable.name for variable in table.VARIABLES]
    assert len(names) == len(set(names))
    filled = [variable.field for variable in table.VARIABLES if variable.field]
    assert len(filled) == len(set(filled))
    fields = {field.name: field for field in dataclasses.fields(Settings)}
    assert set(filled) <= set(fields)
    # A field without a default is read from the environment: the table must fill it.
    required = {name for name, f in fields.items() if f.default is dataclasses.MISSING}
    assert required == set(filled)
    for variable in table.VARIABLES:
        assert variable.doc and "|" not in variable.doc, variable.name
        assert variable.used_by in ("", table.GEMINI, table.TEXT_TO_SPEECH), variable.name


def test_an_empty_environment_gives_the_table_defaults() -> None:
    settings = Settings.from_env(BASE)
    for variable in table.VARIABLES:
        if variable.field and not variable.required:
            assert getattr(settings, variable.field) == variable.default, variable.name
    assert settings.project_id == "demo-unit" and not settings.production


def test_unread_fields_are_gone() -> None:
    fields = {field.name for field in dataclasses.fields(Settings)}
    assert not fields & {"emulator_hosts", "allow_unlisted_models"}


def test_the_project_falls_back_to_gcloud_project_and_is_required() -> None:
    assert Settings.from_env({"GCLOUD_PROJECT": "old-name"}).project_id == "old-name"
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"GOOGLE_CLOUD_PROJECT": "  "})
    assert caught.value.field == "GOOGLE_CLOUD_PROJECT"


def test_empty_or_blank_values_count_as_unset() -> None:
    settings = Settings.from_env(
        {**BASE, "PANELFLOW_BUCKET": "", "PANELFLOW_MAX_PANELS": " ", "PANELFLOW_ENV": ""}
    )
    assert (settings.bucket, settings.max_panels, settings.environment) == (
        "panelflow-assets",
        24,
        "local",
    )


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("PANELFLOW_MAX_PANELS", "many", "must be an integer"),
        ("PANELFLOW_MAX_PANELS", "0", "at least 1"),
        ("PANELFLOW_SIGNED_URL_SECONDS", "604801", "at most 604800"),
        ("PANELFLOW_LEASE_SECONDS", "1.5", "must be an integer"),
        ("PANELFLOW_AUTH_CHECK_REVOKED", "maybe", "true or false"),
        ("PANELFLOW_CORS_ORIGINS", "https://a.example/path", "no path"),
        ("PANELFLOW_SIGNING_KEY_FILE", "/nonexistent/key.pem", "names no file"),
        ("PANELFLOW_VOICE", "espeak", "one of offline, simulated, google"),
    ],
)
def test_each_check_names_its_variable(variable: str, value: str, words: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({**BASE, variable: value})
    assert caught.value.field == variable
    assert words in caught.value.message


def test_a_bad_fallback_names_the_port_and_where_the_value_came_from() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({**BASE, "PANELFLOW_PROVIDERS": "openai"})
    assert caught.value.field == "PANELFLOW_PLANNER"
    assert "from PANELFLOW_PROVIDERS" in caught.value.message


def test_k_service_forces_production() -> None:
    assert Settings.from_env({**BASE, "K_SERVICE": "api", "PANELFLOW_ENV": "local"}).production


def test_markdown_command_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--markdown"]) == 0
    assert capsys.readouterr().out == table.markdown()


def test_write_replaces_only_the_table(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Title\n\n| variable | default | meaning |\n|---|---|---|\n| old |\n\nAfter.\n"
    )
    assert main(["--write", str(readme)]) == 0
    assert readme.read_text() == f"# Title\n\n{table.markdown()}\nAfter.\n"
    with pytest.raises(ValueError, match="no table"):
        with_table("no table here", table.markdown())


def test_catalogue_comes_from_the_settings_and_the_state_enums() -> None:
    settings = Settings.from_env({**BASE, "PANELFLOW_MAX_PANELS": "12"})
    served = catalogue(settings)
    assert served["styles"] == list(settings.styles)
    assert served["languages"] == list(settings.languages)
    assert served["panels"] == {"min": 1, "max": 12, "default": 6}
    assert served["maxStoryChars"] == settings.max_story_chars
    assert served["jobStates"] == [status.value for status in JobStatus]
    assert set(served["terminalJobStates"]) == {"completed", "partial", "failed", "cancelled"}
    assert served["panelStates"] == [status.value for status in PanelStatus]
    assert served["finishedPanelStates"] == ["done", "failed"]


def test_get_catalogue_needs_no_token_and_may_be_cached(services: Services) -> None:
    client = create_app("api", str(SOURCE), "http").test_client()
    response = client.get("/catalogue")
    assert response.status_code == 200
    assert response.get_json() == catalogue(services.settings)
    assert response.headers["Cache-Control"] == "public, max-age=300"
    # Shared caches keep a copy per Origin, since only allowed origins get CORS headers.
    assert response.headers["Vary"] == "Origin"
    assert client.post("/catalogue").status_code == 405
