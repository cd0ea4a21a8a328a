"""Voices: the words a plan uses for a character's voice, and the Cloud Text-to-Speech voice
catalogue every voice adapter and the settings share.

Default voices per job language and tier: a narrator, and at least two voices per gender
for characters, never the narrator's. Voice names follow Cloud Text-to-Speech's
``<language>-<REGION>-<Family>-<Variant>`` pattern; ``panelflow doctor`` checks them against
the service's ``list_voices``.
"""

from __future__ import annotations

from dataclasses import dataclass

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
# Tiers a job's default voices may come from (PANELFLOW_TTS_TIER).
TIERS = ("wavenet", "chirp3-hd")
DEFAULT_TIER = "wavenet"
# A voice name's family word -> its price tier (keys of settings.DEFAULT_PRICES).
FAMILIES = {
    "Standard": "standard",
    "Wavenet": "wavenet",
    "Neural2": "neural2",
    "Polyglot": "neural2",
    "News": "neural2",
    "Studio": "studio",
    "Chirp3": "chirp3-hd",
    "Chirp": "chirp3-hd",
    "Journey": "chirp3-hd",
}
# Families whose voices may refuse MP3: they are asked for LINEAR16 and encoded here.
PCM_ONLY_TIERS = frozenset({"chirp3-hd"})
LOCALES = {
    "en": "en-US",
    "de": "de-DE",
    "es": "es-ES",
    "fr": "fr-FR",
    "it": "it-IT",
    "pt": "pt-BR",
    "nl": "nl-NL",
    "ja": "ja-JP",
    "ar": "ar-XA",
}


@dataclass(frozen=True)
class VoiceSet:
    """Default voices for a job language: one narrator, pools picked from by a name's hash."""

    narrator: str
    female: tuple[str, ...]
    male: tuple[str, ...]

    def all(self) -> tuple[str, ...]:
        return (self.narrator, *self.female, *self.male)


def _wavenet(locale: str, narrator: str, female: str, male: str) -> VoiceSet:
    def name(variant: str) -> str:
        # A variant with its own family ("Neural2-B") keeps it; a bare letter is WaveNet.
        return f"{locale}-{variant}" if "-" in variant else f"{locale}-Wavenet-{variant}"

    return VoiceSet(name(narrator), tuple(map(name, female)), tuple(map(name, male)))


WAVENET_VOICES: dict[str, VoiceSet] = {
    "en": _wavenet("en-US", "D", "CEFG", "ABIJ"),
    "de": _wavenet("de-DE", "B", "ACF", "DE"),
    "es": _wavenet("es-ES", "H", "CDF", "BEG"),
    "fr": _wavenet("fr-FR", "B", "ACE", "DG"),
    "it": VoiceSet(
        "it-IT-Neural2-A",
        ("it-IT-Wavenet-A", "it-IT-Wavenet-B"),
        ("it-IT-Wavenet-C", "it-IT-Wavenet-D"),
    ),
    "pt": _wavenet("pt-BR", "D", "AC", "BE"),
    "nl": _wavenet("nl-NL", "E", "AD", "BC"),
    "ja": VoiceSet(
        "ja-JP-Neural2-B",
        ("ja-JP-Wavenet-A", "ja-JP-Wavenet-B"),
        ("ja-JP-Wavenet-C", "ja-JP-Wavenet-D"),
    ),
    # ar-XA has two WaveNet voices of each gender; the narrator is a Standard one.
    "ar": _wavenet("ar-XA", "Standard-B", "AD", "BC"),
}
# Chirp 3 HD voices share their names across locales.
_HD_NARRATOR = "Charon"
_HD_FEMALE = ("Aoede", "Kore", "Leda")
_HD_MALE = ("Puck", "Fenrir", "Orus")
CHIRP3_HD_VOICES: dict[str, VoiceSet] = {
    language: VoiceSet(
        f"{locale}-Chirp3-HD-{_HD_NARRATOR}",
        tuple(f"{locale}-Chirp3-HD-{name}" for name in _HD_FEMALE),
        tuple(f"{locale}-Chirp3-HD-{name}" for name in _HD_MALE),
    )
    for language, locale in LOCALES.items()
}
VOICES_BY_TIER = {"wavenet": WAVENET_VOICES, "chirp3-hd": CHIRP3_HD_VOICES}


def gender_of(hint: str) -> str:
    """'female', 'male', or '' when the hint names neither (a neutral or unknown voice)."""
    return _GENDERS.get(hint.strip().lower(), "")


def voice_set(language: str, tier: str = DEFAULT_TIER) -> VoiceSet:
    catalogue = VOICES_BY_TIER.get(tier, WAVENET_VOICES)
    return catalogue.get(language, catalogue["en"])


def tier_of(voice: str) -> str:
    """The price tier of a voice name (en-US-Chirp3-HD-Kore -> chirp3-hd), "" if unknown."""
    parts = voice.split("-")
    return FAMILIES.get(parts[2], "") if len(parts) >= 4 else ""
