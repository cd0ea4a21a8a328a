"""Finding the characters (speakers and recurring names), their looks and voice hints."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from panelflow.adapters.offline.plan.sentences import Sentence, is_name, strip_possessive
from panelflow.adapters.offline.plan.vocabulary import (
    BUILDS,
    FALLBACK_SPEAKER,
    FEMALE_ENDINGS,
    FEMALE_NAMES,
    FEMALE_PRONOUNS,
    GARMENTS,
    HAIR_COLOURS,
    HAIR_STYLES,
    MALE_NAMES,
    MALE_PRONOUNS,
    MAX_CHARACTERS,
    NATIVE_TAG_AFTER,
    NATIVE_TAG_BEFORE,
    NUMBER_WORDS,
    OPENERS,
    OUTFIT_COLOURS,
    PREPOSITIONS,
    SKIN_TONES,
    TAG_AFTER_RE,
    TAG_BEFORE_RE,
    VOICE_HINTS,
    WORD_RE,
)
from panelflow.domain.models import Character


@dataclass
class Cast:
    names: list[str]
    voices: dict[str, str]
    # Voice hint -> the character of that voice mentioned last, for "she said" in later panels.
    recent: dict[str, str] = field(default_factory=dict)

    def remember(self, text: str) -> None:
        last = []
        for name in self.names:
            positions = [match.start() for match in _name_re(name).finditer(text)]
            if positions:
                last.append((positions[-1], name))
        for _, name in sorted(last):
            self.recent[self.voices.get(name, "")] = name


@dataclass
class _Candidate:
    name: str
    first: int
    count: int = 0
    non_initial: int = 0
    after_preposition: int = 0
    speaker: int = 0


def is_speaker_name(word: str) -> bool:
    """A name: capitalised (``is_name``), or a word of a script without capitals that a
    speech tag points at (ミラ, ميرا, מירה, मीरा)."""
    first = word[:1]
    return is_name(word) or (first.isalpha() and not first.isupper() and not first.islower())


def _native_tag(sentence: str, span: tuple[int, int]) -> str | None:
    for pattern in NATIVE_TAG_AFTER:
        match = pattern.match(sentence[span[1] :])
        if match:
            return match["n"]
    before = sentence[max(0, span[0] - 40) : span[0]]
    for pattern in NATIVE_TAG_BEFORE:
        match = pattern.search(before)
        if match:
            return match["n"]
    return None


def _tag(sentence: str, span: tuple[int, int]) -> str | None:
    """The word naming the speaker of a quote (a name or a pronoun), or None."""
    native = _native_tag(sentence, span)
    if native:
        return native
    after = TAG_AFTER_RE.match(sentence, span[1])
    if after:
        return strip_possessive(after["a"] or after["b"])
    before = TAG_BEFORE_RE.search(sentence[max(0, span[0] - 80) : span[0]])
    if before:
        return strip_possessive(before["n"])
    return None


def find_characters(sentences: list[Sentence]) -> list[str]:
    candidates, lowercase = _count_candidates(sentences)
    chosen = [candidate for candidate in candidates.values() if _is_character(candidate, lowercase)]
    chosen.sort(key=lambda c: (-min(c.speaker, 1), -(c.count + c.speaker), c.first))
    top = sorted(chosen[:MAX_CHARACTERS], key=lambda c: c.first)
    return [candidate.name for candidate in top]


def _count_candidates(sentences: list[Sentence]) -> tuple[dict[str, _Candidate], set[str]]:
    """Every capitalised word with how it is used, and the words also seen in lowercase."""
    candidates: dict[str, _Candidate] = {}
    lowercase: set[str] = set()
    position = 0
    for sentence in sentences:
        text = sentence.text
        for span in sentence.quotes:
            word = _tag(text, span)
            if word and is_speaker_name(word):
                candidate = candidates.setdefault(word, _Candidate(word, position + span[0]))
                candidate.speaker += 1
        tokens = list(WORD_RE.finditer(text))
        for number, match in enumerate(tokens):
            if any(start <= match.start() < end for start, end in sentence.quotes):
                # Words inside speech ("Eight. Nine.") name nobody by themselves.
                continue
            token = strip_possessive(match.group())
            if token[:1].islower():
                lowercase.add(token.casefold())
                continue
            if not is_name(token):
                continue
            candidate = candidates.setdefault(token, _Candidate(token, position + match.start()))
            candidate.count += 1
            preceding = text[: match.start()].rstrip()
            if preceding and preceding[-1] not in ".!?…:" + OPENERS + "”»」』":
                candidate.non_initial += 1
                previous = tokens[number - 1].group().casefold() if number else ""
                if previous in PREPOSITIONS:
                    candidate.after_preposition += 1
        position += len(text) + 1
    return candidates, lowercase


def _is_character(candidate: _Candidate, lowercase: set[str]) -> bool:
    if candidate.speaker:
        return True
    if candidate.count < 2 or candidate.name.casefold() in NUMBER_WORDS:
        return False
    if candidate.non_initial == 0 and candidate.name.casefold().endswith("ly"):
        # "Slowly, ... Slowly, ...": a sentence opener, not a name.
        return False
    if candidate.name.casefold() in lowercase:
        # "Rain ... rain": an ordinary word that happened to start a sentence.
        return False
    # Only ever "in Paris", "to Harbourtown": a place, not a person.
    return not (candidate.non_initial and candidate.after_preposition == candidate.non_initial)


def _digest(name: str) -> bytes:
    return hashlib.sha256(name.casefold().encode("utf-8")).digest()


def describe(name: str, names: list[str], sentences: list[Sentence]) -> Character:
    digest = _digest(name)
    hair = HAIR_COLOURS[digest[0] % len(HAIR_COLOURS)]
    outfit = OUTFIT_COLOURS[digest[1] % len(OUTFIT_COLOURS)]
    hair_style = HAIR_STYLES[digest[5] % len(HAIR_STYLES)]
    hair_phrase = (
        f"{hair} hair in a ponytail" if hair_style == "ponytail" else f"{hair_style} {hair} hair"
    )
    article = "an" if outfit[0] in "aeiou" else "a"
    description = (
        f"{BUILDS[digest[3] % len(BUILDS)]} build, "
        f"{SKIN_TONES[digest[4] % len(SKIN_TONES)]} skin, {hair_phrase}, "
        f"wearing {article} {outfit} {GARMENTS[digest[2] % len(GARMENTS)]}"
    )
    voice = _voice(name, names, sentences, digest)
    return Character(name=name, description=description, voice=voice)


def _voice(name: str, names: list[str], sentences: list[Sentence], digest: bytes) -> str:
    """Pronouns near the name decide; a hash of the name decides when they do not."""
    female = male = 0
    others = [_name_re(other) for other in names if other != name]
    pattern = _name_re(name)

    def alone(text: str) -> bool:
        return not any(other.search(text) for other in others)

    for number, sentence in enumerate(sentences):
        # Only sentences about this one person say anything about their pronouns.
        if not pattern.search(sentence.text) or not alone(sentence.text):
            continue
        window = sentence.text
        if number + 1 < len(sentences):
            following = sentences[number + 1]
            if following.paragraph == sentence.paragraph and alone(following.text):
                window += " " + following.text
        words = [word.casefold() for word in WORD_RE.findall(window)]
        female += sum(word in FEMALE_PRONOUNS for word in words)
        male += sum(word in MALE_PRONOUNS for word in words)
    if female > male:
        return "female"
    if male > female:
        return "male"
    folded = name.casefold()
    if folded in FEMALE_NAMES:
        return "female"
    if folded in MALE_NAMES:
        return "male"
    if folded.endswith(FEMALE_ENDINGS):
        return "female"
    return VOICE_HINTS[digest[6] % len(VOICE_HINTS)]


def _nearest_name(full_text: str, position: int, cast: Cast, wanted: str) -> str | None:
    """The cast member named closest to a quote (outside it) whose voice fits the pronoun."""
    nearest: tuple[int, str] | None = None
    for name in cast.names:
        # A neutral voice hint may still be "she" or "he" in the text.
        if wanted and cast.voices.get(name) not in (wanted, "neutral"):
            continue
        for match in _name_re(name).finditer(full_text):
            if match.start() <= position <= match.end():
                continue
            # Names before the quote win ties: prose introduces the speaker first.
            if match.start() < position:
                distance = (position - match.end()) * 2
            else:
                distance = (match.start() - position) * 2 + 1
            if nearest is None or distance < nearest[0]:
                nearest = (distance, name)
    return None if nearest is None else nearest[1]


def in_order(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


@functools.lru_cache(maxsize=256)
def _name_re(name: str) -> re.Pattern[str]:
    if not is_name(name):
        # No word boundaries in Japanese (ミラは): the name itself is the pattern.
        return re.compile(re.escape(name))
    return re.compile(rf"\b{re.escape(name)}\b")


def names_mentioned(text: str, names: list[str]) -> list[str]:
    found = []
    for name in names:
        match = _name_re(name).search(text)
        if match:
            found.append((match.start(), name))
    return [name for _, name in sorted(found)]


def find_speaker(
    text: str,
    span: tuple[int, int],
    offset: int,
    full_text: str,
    cast: Cast,
    mentions: list[str],
    previous_speaker: str | None,
) -> str:
    """The quote's speaker: its tag, the last speaker, the nearest fitting name, or Someone."""
    word = _tag(text, span)
    pronoun = ""
    if word is not None:
        if is_speaker_name(word):
            return word
        pronoun = word.casefold()
    elif previous_speaker:
        # An untagged quote right after someone spoke continues their turn.
        return previous_speaker
    wanted = "female" if pronoun in FEMALE_PRONOUNS else "male" if pronoun in MALE_PRONOUNS else ""
    nearest = _nearest_name(full_text, offset + span[0], cast, wanted)
    if nearest is not None:
        return nearest
    for hint in (wanted, "neutral") if wanted else ():
        if hint in cast.recent:
            # "she said" in a panel that does not name her: the woman mentioned last.
            return cast.recent[hint]
    return mentions[0] if mentions else FALLBACK_SPEAKER
