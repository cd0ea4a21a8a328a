"""Voice hints: the words a plan uses for a character's voice, shared by every voice adapter."""

from __future__ import annotations

_GENDERS = {
    "female": "female",
    "woman": "female",
    "girl": "female",
    "f": "female",
    "male": "male",
    "man": "male",
    "boy": "male",
    "m": "male",
}


def gender_of(hint: str) -> str:
    """'female', 'male', or '' when the hint names neither (a neutral or unknown voice)."""
    return _GENDERS.get(hint.strip().lower(), "")
