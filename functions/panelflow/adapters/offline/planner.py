"""A rule-based story planner: paragraphs and sentences become panels, names become characters."""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from panelflow.domain.errors import PlanningFailed
from panelflow.domain.models import Character, DialogueLine, PanelPlan, StoryPlan

MAX_CHARACTERS = 6
TITLE_CHARS = 60
CAPTION_CHARS = 140
NARRATION_CHARS = 600
SCENE_CHARS = 240
DIALOGUE_CHARS = 600
# Sentences longer than this are cut at clause boundaries so a wall of text still makes panels.
LONG_SENTENCE_CHARS = 320
FALLBACK_SPEAKER = "Someone"

# The words a character description is made of; the renderer maps every one to a colour or shape.
BUILDS = ("slim", "stocky", "tall", "small", "broad")
SKIN_TONES = ("fair", "light", "olive", "tan", "brown", "dark")
HAIR_STYLES = ("short", "long", "curly", "ponytail")
HAIR_COLOURS = ("black", "brown", "chestnut", "auburn", "ginger", "blond", "platinum", "silver")
OUTFIT_COLOURS = (
    "red",
    "crimson",
    "orange",
    "mustard",
    "olive",
    "green",
    "teal",
    "turquoise",
    "blue",
    "navy",
    "indigo",
    "purple",
    "plum",
    "magenta",
    "pink",
)
GARMENTS = ("coat", "jacket", "sweater", "dress", "tunic", "hoodie", "cloak", "waistcoat")
VOICE_HINTS = ("female", "male", "neutral")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that start sentences or are capitalised for reasons other than being someone's name.
STOPWORDS = _words(
    """
    a about above after again against all almost also although always am an and another any
    anyone anything are around as at away back be because been before behind being below
    beneath beside besides between beyond both but by can could did do does done down during
    each either else even ever every everyone everything everybody far few for from further
    had has have having he her here hers herself him himself his how however i if in inside
    into is it its itself just last later least less let like maybe me meanwhile might mine
    more most much must my myself near neither never next no nobody none nor not nothing now
    nowhere of off often oh ok okay on once one only onto or other others our ours ourselves
    out outside over own perhaps please quite rather really same she should since so some
    somebody someone something sometimes somewhere soon still such suddenly than thank thanks
    that the their theirs them themselves then there therefore these they this those though
    through thus till to today together tomorrow tonight too toward towards under unless until
    up upon us very was we well were what whatever when whenever where wherever whether which
    while who whoever whole whom whose why will with within without would yes yet you your
    yours yourself yourselves hello hi hey goodbye bye dear sir madam miss mister mr mrs ms dr
    lord lady god good great little old new first second third finally instead sure right wait
    look come go stop run help listen no-one everywhere anyway again afterwards soon monday
    tuesday wednesday thursday friday saturday sunday january february march april may june
    july august september october november december spring summer autumn winter chapter part
    prologue epilogue scene setting title note narrator the end morning evening night day
    christmas easter english french german spanish italian
    """
)
# Titles are never names themselves: in "Captain Rowe" the character is Rowe.
TITLES = _words(
    """
    mr mrs ms miss dr doctor sir lady lord captain professor prof aunt uncle king queen prince
    princess officer detective sergeant inspector father mother grandma grandpa granny saint
    """
)
ABBREVIATIONS = _words(
    """
    mr mrs ms dr st prof capt sgt jr sr lt col gen mt vs no
    """
)
SPEECH_VERBS = (
    "said|says|say|asked|asks|replied|replies|answered|shouted|shouts|yelled|whispered|"
    "whispers|cried|cries|called|calls|muttered|murmured|added|exclaimed|continued|began|"
    "insisted|laughed|sighed|snapped|growled|screamed|warned|explained|declared|agreed|"
    "admitted|mumbled|breathed|hissed|pleaded|demanded|announced|shrieked|roared|gasped|"
    "whimpered|sang|told|repeated|promised|suggested|grumbled|giggled|sobbed|answers|"
    "wondered|stammered|barked|croaked|teased|offered|interrupted|corrected|observed|"
    # The same for the other languages a job may be written in (de, es, fr, it, pt, nl).
    "sagte|fragte|rief|antwortete|flüsterte|dijo|preguntó|gritó|respondió|susurró|dit|"
    "demanda|cria|répondit|murmura|disse|chiese|gridò|rispose|perguntou|gritou|respondeu|"
    "zei|vroeg|riep|antwoordde|fluisterde"
)
# Common given names settle a voice that the text's pronouns leave open.
FEMALE_NAMES = _words(
    """
    alice amelia anna ava clara ella emily emma eve grace hannah isla ivy jane julia kate lily
    lucy maya mia nora olivia rose ruby sara sarah sofia sophie zoe mary beth meg amy lena
    """
)
MALE_NAMES = _words(
    """
    adam ben daniel david eli finn george harry henry jack jacob james john leo liam lucas max
    noah oliver oscar owen peter sam samuel theo thomas tom will william arthur hugo ned otto
    """
)
FEMALE_ENDINGS = ("a", "ette", "elle", "ine", "ie")
# Subject pronouns only: "her" and "him" are as often someone else's.
FEMALE_PRONOUNS = frozenset({"she", "herself"})
MALE_PRONOUNS = frozenset({"he", "himself"})
PREPOSITIONS = _words(
    """
    in at to from into across near of towards toward through over under past around
    """
)
# Words the renderer turns into a background. A panel that names no place (or no time of day
# or weather) keeps the last one named, so the backdrop does not jump around between panels.
PLACE_WORDS = _words(
    """
    lighthouse sea ocean beach bay harbour harbor lake river island cliff ship boat forest woods
    jungle city street town village castle cave mountain hill desert space garden field
    room kitchen house library school
    """
)
TIME_WORDS = _words(
    """
    night midnight dawn dusk sunset sunrise morning evening rain storm snow fog
    """
)

_WORD = r"[^\W\d_][\w'\u2019-]*"
_WORD_RE = re.compile(_WORD)
_LETTER_RE = re.compile(r"[^\W\d_]")
# Quoted speech per paragraph: straight, curly, guillemets, German and Japanese quotes; a closing
# curly single quote followed by a letter is an apostrophe (as in don't), not the end of the quote.
_QUOTE_RE = re.compile(
    r'"[^"]+"|“[^”]+”|«[^»]+»|„[^“”]+[“”]|「[^」]+」|『[^』]+』|\u2018.+?\u2019(?![^\W\d_])', re.S
)
_BOUNDARY_RE = re.compile(r"[.!?…]+[\"'”\u2019»)\]]*\s+|[。\uff01\uff1f]+[」』”\u2019]*\s*")
_OPENERS = "\"'“\u2018«„「『([¿¡"
_CLAUSE_RE = re.compile(r"[,;:—\u2013]\s+|\s+[—\u2013-]\s+")
_TAG_AFTER_RE = re.compile(
    rf"\s*[,.!?…—\u2013-]*\s*(?:(?:{SPEECH_VERBS})\s+(?P<a>{_WORD})"
    rf"|(?P<b>{_WORD})\s+(?:[a-z]+ly\s+)?(?:{SPEECH_VERBS}))\b"
)
_TAG_BEFORE_RE = re.compile(
    rf"(?P<n>{_WORD})\s*(?::|(?:{SPEECH_VERBS})(?:\s+[a-z]+){{0,2}}\s*[,:]?)\s*$"
)
_PURE_TAG_RE = re.compile(
    rf"^[\s,.!?…:;—\u2013-]*(?:(?:{SPEECH_VERBS})\s+(?:the\s+)?{_WORD}(?:\s+[a-z]+ly)?"
    rf"|(?:the\s+)?{_WORD}\s+(?:[a-z]+ly\s+)?(?:{SPEECH_VERBS})(?:\s+[a-z]+ly)?"
    rf"|{_WORD}\s*:)?[\s,.!?…:;—\u2013-]*$"
)
_SCRIPT_LINE_RE = re.compile(rf"^\s*(?P<n>{_WORD})\s*:\s+(?P<t>[^\"“«„「].*)$")
_INTRO_RE = re.compile(r"[\s,:]*[\"\u201c\u00ab\u201e\u300c\u2018]")
_LAST_WORD_RE = re.compile(r"(\w+)$")
_HEADING_RE = re.compile(r"^\s*#+\s*")
_SETTING_RE = re.compile(
    r"\b(" + "|".join(sorted(PLACE_WORDS | TIME_WORDS)) + r")(?:s|es)?\b", re.I
)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\ufeff]")


@dataclass
class _Sentence:
    text: str
    paragraph: int
    # Quote spans relative to ``text``.
    quotes: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class _Cast:
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


class RuleBasedStoryPlanner:
    """Plans a story with text rules alone: deterministic, offline and fast.

    Panels come from paragraphs, then sentences; characters from the speakers of quoted
    speech and from capitalised names that recur; each character gets a look and a voice
    hint derived from a hash of the name, so a re-plan draws the same people.
    """

    def plan(self, story: str, *, panels: int, style: str, language: str) -> StoryPlan:
        """Returns ``panels`` panels, or one per sentence when the story has fewer sentences."""
        text = _normalise(story)
        if not _LETTER_RE.search(text):
            raise PlanningFailed(
                "The story has no words in it: write a few sentences for the comic to tell."
            )
        title, body = _split_title(text)
        sentences = _sentences(body)
        if not sentences:
            # Only a title: it is the whole story.
            sentences = _sentences(title)
        names = _characters(sentences)
        characters = tuple(_describe(name, names, sentences) for name in names)
        cast = _Cast(names, {character.name: character.voice for character in characters})
        groups = _group(sentences, max(1, int(panels)))
        plans: list[PanelPlan] = []
        setting: tuple[list[str], list[str]] = ([], [])
        for index, group in enumerate(groups):
            plan, setting = _panel(index, group, cast, style or "storybook", setting)
            plans.append(plan)
        return StoryPlan(title=title, characters=characters, panels=tuple(plans))


def _normalise(story: str) -> str:
    text = unicodedata.normalize("NFC", story or "")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _CONTROL_RE.sub("", text).strip()


def _split_title(text: str) -> tuple[str, str]:
    lines = text.split("\n")
    first = lines[0].strip()
    rest = "\n".join(lines[1:]).strip()
    if _HEADING_RE.match(first):
        heading = _HEADING_RE.sub("", first).strip()
        if _LETTER_RE.search(heading):
            return _trim(heading, TITLE_CHARS), rest
        return _title_from(rest), rest
    is_short_line = (
        len(first) <= TITLE_CHARS
        and not first.endswith((".", "!", "?", ",", ";", ":", '"', "”", "»", "。"))
        and _LETTER_RE.search(rest) is not None
    )
    if is_short_line:
        return first, rest
    return _title_from(text), text


def _title_from(text: str) -> str:
    sentences = _sentences(text)
    first = sentences[0].text if sentences else text
    first = re.sub(r"[\"“”«»„「」『』\u2018\u2019]", "", first)
    first = re.sub(r"\s+", " ", first).strip().rstrip(".。,;:")
    return _trim(first, TITLE_CHARS) or "Untitled"


def _paragraphs(body: str) -> list[str]:
    paragraphs: list[str] = []
    current: list[str] = []
    for raw in body.split("\n"):
        line = raw.strip()
        if not line or _HEADING_RE.match(line):
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        script = _SCRIPT_LINE_RE.match(line)
        if script and _is_name(script["n"]) and '"' not in script["t"]:
            # Script format (Mira: Hello) becomes quoted speech so it is read as dialogue.
            line = f'{script["n"]}: "{script["t"].strip()}"'
        current.append(line)
    if current:
        paragraphs.append(" ".join(current))
    return [re.sub(r"\s+", " ", paragraph) for paragraph in paragraphs]


def _sentences(body: str) -> list[_Sentence]:
    sentences: list[_Sentence] = []
    for number, paragraph in enumerate(_paragraphs(body)):
        quotes = [match.span() for match in _QUOTE_RE.finditer(paragraph)]
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
    for match in _BOUNDARY_RE.finditer(paragraph):
        end = match.end()
        if end >= len(paragraph) or _inside(end, quotes):
            continue
        if match.group()[0] in "。\uff01\uff1f":
            cuts.append(end)
            continue
        following = paragraph[end]
        if not (following.isupper() or following.isdigit() or following in _OPENERS):
            continue
        tag = _TAG_AFTER_RE.match(paragraph, end)
        if tag and _inside(match.start(), quotes) and not _INTRO_RE.match(paragraph, tag.end()):
            # "Hard to port!" Rowe cried. -- the tag belongs to the quote's sentence, unless it
            # introduces the next quote: "Yo." Dee asked, "Why?"
            continue
        word = _LAST_WORD_RE.search(paragraph, 0, match.start())
        if match.group()[0] == "." and word:
            token = word.group(1)
            # Mr. Smith and J. R. Tolkien are one sentence.
            if token.lower() in ABBREVIATIONS or (len(token) == 1 and token.isupper()):
                continue
        cuts.append(end)
    return cuts


def _pieces(
    paragraph: str, start: int, end: int, quotes: list[tuple[int, int]], number: int
) -> list[_Sentence]:
    """One sentence, or several clauses when the sentence is too long for one panel."""
    cuts = [start]
    if end - start > LONG_SENTENCE_CHARS:
        last = start
        for match in _CLAUSE_RE.finditer(paragraph, start, end):
            if _inside(match.start(), quotes):
                continue
            if match.end() - last >= LONG_SENTENCE_CHARS // 2 and end - match.end() > 40:
                cuts.append(match.end())
                last = match.end()
    cuts.append(end)
    cuts = _word_cuts(paragraph, cuts, quotes)
    pieces: list[_Sentence] = []
    for left, right in itertools.pairwise(cuts):
        raw = paragraph[left:right]
        offset = left + len(raw) - len(raw.lstrip())
        text = raw.strip()
        if not _LETTER_RE.search(text):
            if pieces and text:
                pieces[-1].text += text
            continue
        spans = [
            (s - offset, e - offset) for s, e in quotes if s >= offset and e <= offset + len(text)
        ]
        pieces.append(_Sentence(text=text, paragraph=number, quotes=spans))
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


def _is_name(word: str) -> bool:
    word = _strip_possessive(word)
    return (
        len(word) > 1
        and word[0].isupper()
        and any(ch.islower() for ch in word)
        and word.casefold() not in STOPWORDS
        and word.casefold() not in TITLES
    )


def _strip_possessive(word: str) -> str:
    for suffix in ("'s", "\u2019s", "'", "\u2019"):
        if word.endswith(suffix):
            return word[: -len(suffix)]
    return word.rstrip("-")


def _tag(sentence: str, span: tuple[int, int]) -> str | None:
    """The word naming the speaker of a quote (a name or a pronoun), or None."""
    after = _TAG_AFTER_RE.match(sentence, span[1])
    if after:
        return _strip_possessive(after["a"] or after["b"])
    before = _TAG_BEFORE_RE.search(sentence[max(0, span[0] - 80) : span[0]])
    if before:
        return _strip_possessive(before["n"])
    return None


def _characters(sentences: list[_Sentence]) -> list[str]:
    candidates: dict[str, _Candidate] = {}
    lowercase: set[str] = set()
    position = 0
    for sentence in sentences:
        text = sentence.text
        for span in sentence.quotes:
            word = _tag(text, span)
            if word and _is_name(word):
                candidate = candidates.setdefault(word, _Candidate(word, position + span[0]))
                candidate.speaker += 1
        tokens = list(_WORD_RE.finditer(text))
        for number, match in enumerate(tokens):
            token = _strip_possessive(match.group())
            if token[:1].islower():
                lowercase.add(token.casefold())
                continue
            if not _is_name(token):
                continue
            candidate = candidates.setdefault(token, _Candidate(token, position + match.start()))
            candidate.count += 1
            preceding = text[: match.start()].rstrip()
            if preceding and preceding[-1] not in ".!?…:" + _OPENERS + "”»」』":
                candidate.non_initial += 1
                previous = tokens[number - 1].group().casefold() if number else ""
                if previous in PREPOSITIONS:
                    candidate.after_preposition += 1
        position += len(text) + 1
    chosen = []
    for candidate in candidates.values():
        if candidate.speaker:
            chosen.append(candidate)
            continue
        if candidate.count < 2:
            continue
        if candidate.non_initial == 0 and candidate.name.casefold().endswith("ly"):
            # "Slowly, ... Slowly, ...": a sentence opener, not a name.
            continue
        if candidate.name.casefold() in lowercase:
            # "Rain ... rain": an ordinary word that happened to start a sentence.
            continue
        if candidate.non_initial and candidate.after_preposition == candidate.non_initial:
            # Only ever "in Paris", "to Harbourtown": a place, not a person.
            continue
        chosen.append(candidate)
    chosen.sort(key=lambda c: (-min(c.speaker, 1), -(c.count + c.speaker), c.first))
    top = sorted(chosen[:MAX_CHARACTERS], key=lambda c: c.first)
    return [candidate.name for candidate in top]


def _digest(name: str) -> bytes:
    return hashlib.sha256(name.casefold().encode("utf-8")).digest()


def _describe(name: str, names: list[str], sentences: list[_Sentence]) -> Character:
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


def _voice(name: str, names: list[str], sentences: list[_Sentence], digest: bytes) -> str:
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
        words = [word.casefold() for word in _WORD_RE.findall(window)]
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


def _group(sentences: list[_Sentence], panels: int) -> list[list[_Sentence]]:
    """Cuts the sentences into ``panels`` runs of similar length, preferring paragraph ends."""
    if len(sentences) <= panels:
        return [[sentence] for sentence in sentences]
    paragraphs: list[list[_Sentence]] = []
    for sentence in sentences:
        if paragraphs and paragraphs[-1][-1].paragraph == sentence.paragraph:
            paragraphs[-1].append(sentence)
        else:
            paragraphs.append([sentence])
    # Enough paragraphs: merge whole paragraphs; too few: cut inside them, at sentence ends.
    units = paragraphs if len(paragraphs) >= panels else [[sentence] for sentence in sentences]
    count = len(units)
    ends = []  # ends[g]: characters up to the end of unit g
    running = 0
    for unit in units:
        running += sum(len(sentence.text) + 1 for sentence in unit)
        ends.append(running)
    share = running / panels
    cuts: list[int] = []
    previous = -1
    for number in range(1, panels):
        ideal = number * share
        best, best_score = previous + 1, float("inf")
        # Leave at least one unit for each of the panels still to come.
        for gap in range(previous + 1, count - (panels - number)):
            score = abs(ends[gap] - ideal) / share
            if units[gap][-1].paragraph != units[gap + 1][0].paragraph:
                score -= 0.35
            if score < best_score:
                best, best_score = gap, score
        cuts.append(best)
        previous = best
    groups: list[list[_Sentence]] = []
    start = 0
    for cut in [*cuts, count - 1]:
        groups.append([sentence for unit in units[start : cut + 1] for sentence in unit])
        start = cut + 1
    return groups


def _panel(
    index: int,
    group: list[_Sentence],
    cast: _Cast,
    style: str,
    setting: tuple[list[str], list[str]],
) -> tuple[PanelPlan, tuple[list[str], list[str]]]:
    full_text = " ".join(sentence.text for sentence in group)
    mentions = _mentions(full_text, cast.names)
    dialogue: list[DialogueLine] = []
    narrative: list[str] = []
    offset = 0
    previous_speaker: str | None = None
    previous_paragraph = group[0].paragraph
    for sentence in group:
        if sentence.paragraph != previous_paragraph:
            previous_speaker = None
            previous_paragraph = sentence.paragraph
        text = sentence.text
        for span in sentence.quotes:
            speech = _speech(text[span[0] : span[1]])
            if not speech:
                continue
            speaker = _speaker(text, span, offset, full_text, cast, mentions, previous_speaker)
            previous_speaker = speaker
            dialogue.append(DialogueLine(speaker=speaker, text=speech))
        remainder = _without_quotes(text, sentence.quotes)
        if remainder:
            narrative.append(remainder)
        offset += len(text) + 1
    story_text = " ".join(narrative)
    speakers = [line.speaker for line in dialogue]
    characters = [name for name in _order(mentions + speakers) if name in cast.names]
    cast.remember(full_text)
    # Only the narration sets the scene: "A storm is coming," is not a storm yet.
    words = _settings(story_text)
    places = [word for word in words if word in PLACE_WORDS][:2] or setting[0]
    times = [word for word in words if word in TIME_WORDS][:2] or setting[1]
    current = places + times
    scene = _trim(story_text, SCENE_CHARS)
    if not scene:
        people = [name for name in _order(speakers) if name != FALLBACK_SPEAKER]
        people = people or [FALLBACK_SPEAKER]
        scene = f"{' and '.join(people[:3])} talking"
    missing = [word for word in current if not re.search(rf"\b{word}", scene, re.I)]
    if missing:
        scene = f"{scene.rstrip('.')}. Setting: {', '.join(missing)}."
    prompt = f"{style} comic panel: {scene}"
    if characters:
        prompt += f" Characters: {', '.join(characters)}."
    plan = PanelPlan(
        index=index,
        scene=scene,
        caption=_trim(story_text, CAPTION_CHARS),
        narration=_trim(story_text, NARRATION_CHARS),
        dialogue=tuple(dialogue),
        characters=tuple(characters),
        image_prompt=prompt,
    )
    return plan, (places, times)


def _order(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


@functools.lru_cache(maxsize=256)
def _name_re(name: str) -> re.Pattern[str]:
    return re.compile(rf"\b{re.escape(name)}\b")


def _mentions(text: str, names: list[str]) -> list[str]:
    found = []
    for name in names:
        match = _name_re(name).search(text)
        if match:
            found.append((match.start(), name))
    return [name for _, name in sorted(found)]


def _settings(text: str) -> list[str]:
    return _order(match.group(1).lower() for match in _SETTING_RE.finditer(text))


def _speech(quote: str) -> str:
    inner = re.sub(r"\s+", " ", quote[1:-1]).strip().rstrip(",;:—\u2013 ")
    if not _LETTER_RE.search(inner) and not any(ch.isdigit() for ch in inner):
        return ""
    return _trim(inner, DIALOGUE_CHARS)


def _speaker(
    text: str,
    span: tuple[int, int],
    offset: int,
    full_text: str,
    cast: _Cast,
    mentions: list[str],
    previous_speaker: str | None,
) -> str:
    """The quote's speaker: its tag, the last speaker, the nearest fitting name, or Someone."""
    word = _tag(text, span)
    pronoun = ""
    if word is not None:
        if _is_name(word):
            return word
        pronoun = word.casefold()
    elif previous_speaker:
        # An untagged quote right after someone spoke continues their turn.
        return previous_speaker
    wanted = "female" if pronoun in FEMALE_PRONOUNS else "male" if pronoun in MALE_PRONOUNS else ""
    position = offset + span[0]
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
    if nearest is not None:
        return nearest[1]
    for hint in (wanted, "neutral") if wanted else ():
        if hint in cast.recent:
            # "she said" in a panel that does not name her: the woman mentioned last.
            return cast.recent[hint]
    return mentions[0] if mentions else FALLBACK_SPEAKER


def _without_quotes(text: str, quotes: list[tuple[int, int]]) -> str:
    if not quotes:
        return text
    parts = []
    start = 0
    for left, right in quotes:
        parts.append(text[start:left])
        start = right
    parts.append(text[start:])
    remainder = re.sub(r"\s+", " ", " ".join(parts)).strip()
    if _PURE_TAG_RE.match(remainder):
        return ""
    remainder = re.sub(r"\s+([,.!?;:])", r"\1", remainder)
    remainder = re.sub(r"([,;:])\s*([,.!?;:])+", r"\2", remainder)
    remainder = re.sub(r"^[\s,.!?;:—\u2013-]+", "", remainder)
    if remainder and not _LETTER_RE.search(remainder):
        return ""
    return remainder


def _trim(text: str, limit: int) -> str:
    """Shortens at a word boundary with an ellipsis, the result at most ``limit`` characters."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    # Scripts without spaces (Japanese) have no word boundary to find: cut hard.
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:—\u2013-") + "…"
