"""What a deployment's `terraform output -json` holds, for tests of the web config it makes."""

from __future__ import annotations

from typing import Any


def terraform_outputs(
    api_url: str = "https://api-xyz-uc.a.run.app/", project: str = "comics-prod", **config: Any
) -> dict[str, Any]:
    """The outputs scripts/web_config.py reads; ``config`` overrides web_config's keys."""
    web_config = {
        "apiUrl": api_url,
        "authEmulatorUrl": "",
        "signIn": {"google": False},
        "firebase": {
            "apiKey": "AIza-test",
            "authDomain": f"{project}.firebaseapp.com",
            "projectId": project,
            "appId": "1:123:web:abc",
        },
        "firestoreEmulatorHost": "",
        **config,
    }
    return {
        "web_config": {"sensitive": True, "type": "object", "value": web_config},
        "hosting_site": {"value": {"site_id": project, "url": f"https://{project}.web.app"}},
    }
