"""The web client's /config.json, as the local web server builds it from the environment."""

from __future__ import annotations

from panelflow_cli.webserver import client_config


def test_the_local_stack_points_the_page_at_its_emulators() -> None:
    config = client_config(
        {
            "PANELFLOW_API_URL": "http://127.0.0.1:8001/",
            "GOOGLE_CLOUD_PROJECT": "demo-x",
            "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
            "FIRESTORE_EMULATOR_HOST": "127.0.0.1:8080",
        }
    )
    assert config == {
        "apiUrl": "http://127.0.0.1:8001",
        "firebase": {
            "apiKey": "local-emulator-key",
            "authDomain": "127.0.0.1",
            "projectId": "demo-x",
        },
        "authEmulatorUrl": "http://127.0.0.1:9099",
        "firestoreEmulatorHost": "127.0.0.1:8080",
        "signIn": {"google": False},
    }


def test_without_emulators_the_page_talks_to_google() -> None:
    config = client_config({"PANELFLOW_API_URL": "https://api.example.com"})
    assert config["authEmulatorUrl"] == ""
    assert config["firestoreEmulatorHost"] == ""
    assert "auth" not in config  # the dev sign-in is gone


def test_google_sign_in_is_shown_only_when_enabled() -> None:
    for value, shown in (("true", True), ("1", True), ("yes", True), ("", False), ("false", False)):
        config = client_config({"PANELFLOW_WEB_GOOGLE_SIGN_IN": value})
        assert config["signIn"] == {"google": shown}, value
