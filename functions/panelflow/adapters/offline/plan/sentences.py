"""From story text to sentences: normalising, the title, paragraphs, quotes and cuts."""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, field

from panelflow.adapters.offline.plan.vocabulary import (
    ABBREVIATIONS,
    BOUNDARY_RE,
    CLAUSE_RE,
    CONTROL_RE,
    DIALOGUE_CHARS,
    HEADING_RE,
    INTRO_RE,
    LAST_WORD_RE,
    LETTER_RE,
    LONG_SENTENCE_CHARS,
    OPENERS,
    PURE_TAG_RE,
    QUOTE_RE,
    SCRIPT_LINE_RE,
    STOPWORDS,
    TAG_AFTER_RE,
    TITLE_CHARS,
    TITLES,
)
from panelflow.domain.plan_limits import shorten


@dataclass
class Sentence:
    text: str
    paragraph: int
    # Quote spans relative to ``text``.
    quotes: list[tuple[int, int]] = field(default_factory=list)


def normalise(story: str) -> str:
    text = unicodedata.normalize("NFC", story or "")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return CONTROL_RE.sub("", text).strip()


def split_title(text: str) -> tuple[str, str]:
    lines = text.split("\n")
    first = lines[0].strip()
    rest = "\n".join(lines[1:]).strip()
    if HEADING_RE.match(first):
        heading = HEADING_RE.sub("", first).strip()
        if LETTER_RE.search(heading):
            return shorten(heading, TITLE_CHARS), rest
        return _title_from(rest), rest
    is_short_line = (
        len(first) <= TITLE_CHARS
        and not first.endswith((".", "!", "?", ",", ";", ":", '"', "”", "»", "。"))
        and LETTER_RE.search(rest) is not None
    )
    if is_short_line:
        return first, rest
    return _title_from(text), text


def _title_from(text: str) -> str:
    sentences = split_sentences(text)
    first = sentences[0].text if sentences else text
    first = re.sub(r"[\"“”«»„「」『』\u2018\u2019]", "", first)
    first = re.sub(r"\s+", " ", first).strip().rstrip(".。,;:")
    return shorten(first, TITLE_CHARS) or "Untitled"


def _paragraphs(body: str) -> list[str]:
    paragraphs: list[str] = []
    current: list[str] = []
    for raw in body.split("\n"):
        line = raw.strip()
        if not line or HEADING_RE.match(line):
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        script = SCRIPT_LINE_RE.match(line)
        if script and is_name(script["n"]) and '"' not in script["t"]:
            # Script format (Mira: Hello) becomes quoted speech so it is read as dialogue.
            line = f'{script["n"]}: "{script["t"].strip()}"'
        current.append(line)
    if current:
        paragraphs.append(" ".join(current))
    return [re.sub(r"\s+", " ", paragraph) for paragraph in paragraphs]


def split_sentences(body: str) -> list[Sentence]:
    sentences: list[Sentence] = []
    for number, paragraph in enumerate(_paragraphs(body)):
        quotes = [match.span() for match in QUOTE_RE.finditer(paragraph)]
        start = 0
        for cut in _boundaries(paragraph, quotes):
            sentences.extend(_pieces(paragraph, start, cut, quotes, number))
            start = cut
        sentences.extend(_pieces(paragraph, start, len(paragraph), quotes, number))
    return sentences


def _inside(position: int, quotes: list[tuple[int, int]]) -> bool:
    return any(start < position < end for start, end in quotes)


def _boundaries(paragraph: str, quotes: list[tuple[int, int]]) -> list[int]:
    cuts: list[int] = []
    for match in BOUNDARY_RE.finditer(paragraph):
        end = match.end()
        if end >= len(paragraph) or _inside(end, quotes):
            continue
        if match.group()[0] in "。\uff01\uff1f":
            cuts.append(end)
            continue
        following = paragraph[end]
        if not (following.isupper() or following.isdigit() or following in OPENERS):
            continue
        tag = TAG_AFTER_RE.match(paragraph, end)
        if tag and _inside(match.start(), quotes) and not INTRO_RE.match(paragraph, tag.end()):
            # "Hard to port!" Rowe cried. -- the tag belongs to the quote's sentence, unless it
            # introduces the next quote: "Yo." Dee asked, "Why?"
            continue
        word = LAST_WORD_RE.search(paragraph, 0, match.start())
        if match.group()[0] == "." and word:
            token = word.group(1)
            # Mr. Smith and J. R. Tolkien are one sentence.
            if token.lower() in ABBREVIATIONS or (len(token) == 1 and token.isupper()):
                continue
        cuts.append(end)
    return cuts


def _pieces(
    paragraph: str, start: int, end: int, quotes: list[tuple[int, int]], number: int
) -> list[Sentence]:
    """One sentence, or several clauses when the sentence is too long for one panel."""
    cuts = [start]
    if end - start > LONG_SENTENCE_CHARS:
        last = start
        for match in CLAUSE_RE.finditer(paragraph, start, end):
            if _inside(match.start(), quotes):
                continue
            if match.end() - last >= LONG_SENTENCE_CHARS // 2 and end - match.end() > 40:
                cuts.append(match.end())
                last = match.end()
    cuts.append(end)
    cuts = _word_cuts(paragraph, cuts, quotes)
    pieces: list[Sentence] = []
    for left, right in itertools.pairwise(cuts):
        raw = paragraph[left:right]
        offset = left + len(raw) - len(raw.lstrip())
        text = raw.strip()
        if not LETTER_RE.search(text):
            if pieces and text:
                pieces[-1].text += text
            continue
        spans = [
            (s - offset, e - offset) for s, e in quotes if s >= offset and e <= offset + len(text)
        ]
        pieces.append(Sentence(text=text, paragraph=number, quotes=spans))
    return pieces


def _word_cuts(paragraph: str, cuts: list[int], quotes: list[tuple[int, int]]) -> list[int]:
    """Cuts stretches still far too long (no punctuation at all) at spaces."""
    refined = [cuts[0]]
    for left, right in itertools.pairwise(cuts):
        position = left
        while right - position > LONG_SENTENCE_CHARS * 3 // 2:
            space = paragraph.rfind(
                " ", position + LONG_SENTENCE_CHARS // 2, position + LONG_SENTENCE_CHARS
            )
            if space < 0 or _inside(space, quotes):
                break
            refined.append(space + 1)
            position = space + 1
        refined.append(right)
    return refined


def is_name(word: str) -> bool:
    word = strip_possessive(word)
    return (
        len(word) > 1
        and word[0].isupper()
        and any(ch.islower() for ch in word)
        and word.casefold() not in STOPWORDS
        and word.casefold() not in TITLES
    )


def strip_possessive(word: str) -> str:
    for suffix in ("'s", "\u2019s", "'", "\u2019"):
        if word.endswith(suffix):
            return word[: -len(suffix)]
    return word.rstrip("-")


def speech_text(quote: str) -> str:
    inner = re.sub(r"\s+", " ", quote[1:-1]).strip().rstrip(",;:—\u2013 ")
    if not LETTER_RE.search(inner) and not any(ch.isdigit() for ch in inner):
        return ""
    return shorten(inner, DIALOGUE_CHARS)


def without_quotes(text: str, quotes: list[tuple[int, int]]) -> str:
    if not quotes:
        return text
    parts = []
    start = 0
    for left, right in quotes:
        parts.append(text[start:left])
        start = right
    parts.append(text[start:])
    remainder = re.sub(r"\s+", " ", " ".join(parts)).strip()
    if PURE_TAG_RE.match(remainder):
        return ""
    remainder = re.sub(r"\s+([,.!?;:])", r"\1", remainder)
    remainder = re.sub(r"([,;:])\s*([,.!?;:])+", r"\2", remainder)
    remainder = re.sub(r"^[\s,.!?;:—\u2013-]+", "", remainder)
    if remainder and not LETTER_RE.search(remainder):
        return ""
    return remainder
