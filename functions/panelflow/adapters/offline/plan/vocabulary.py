"""The planner's words and patterns: limits, word lists, the look and voice vocabulary."""

from __future__ import annotations

import re

MAX_CHARACTERS = 6
TITLE_CHARS = 60
# A caption is the panel's first whole sentences up to this; narration is never cut here.
CAPTION_CHARS = 200
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

WORD = r"[^\W\d_][\w'\u2019-]*"
WORD_RE = re.compile(WORD)
LETTER_RE = re.compile(r"[^\W\d_]")
# Quoted speech per paragraph: straight, curly, guillemets, German and Japanese quotes; a closing
# curly single quote followed by a letter is an apostrophe (as in don't), not the end of the quote.
QUOTE_RE = re.compile(
    r'"[^"]+"|“[^”]+”|«[^»]+»|„[^“”"]+[“”"]|「[^」]+」|『[^』]+』|\u2018.+?\u2019(?![^\W\d_])', re.S
)
BOUNDARY_RE = re.compile(r"[.!?…]+[\"'”\u2019»)\]]*\s+|[。\uff01\uff1f]+[」』”\u2019]*\s*")
OPENERS = "\"'“\u2018«„「『([¿¡"
CLAUSE_RE = re.compile(r"[,;:—\u2013]\s+|\s+[—\u2013-]\s+")
TAG_AFTER_RE = re.compile(
    rf"\s*[,.!?…—\u2013-]*\s*(?:(?:{SPEECH_VERBS})\s+(?P<a>{WORD})"
    rf"|(?P<b>{WORD})\s+(?:[a-z]+ly\s+)?(?:{SPEECH_VERBS}))\b"
)
TAG_BEFORE_RE = re.compile(
    rf"(?P<n>{WORD})\s*(?::|(?:{SPEECH_VERBS})(?:\s+[a-z]+){{0,2}}\s*[,:]?)\s*$"
)
PURE_TAG_RE = re.compile(
    rf"^[\s,.!?…:;—\u2013-]*(?:(?:{SPEECH_VERBS})\s+(?:the\s+)?{WORD}(?:\s+[a-z]+ly)?"
    rf"|(?:the\s+)?{WORD}\s+(?:[a-z]+ly\s+)?(?:{SPEECH_VERBS})(?:\s+[a-z]+ly)?"
    rf"|{WORD}\s*:)?[\s,.!?…:;—\u2013-]*$"
)
SCRIPT_LINE_RE = re.compile(rf"^\s*(?P<n>{WORD})\s*:\s+(?P<t>[^\"“«„「].*)$")
INTRO_RE = re.compile(r"[\s,:]*[\"\u201c\u00ab\u201e\u300c\u2018]")
LAST_WORD_RE = re.compile(r"(\w+)$")
HEADING_RE = re.compile(r"^\s*#+\s*")
SETTING_RE = re.compile(r"\b(" + "|".join(sorted(PLACE_WORDS | TIME_WORDS)) + r")(?:s|es)?\b", re.I)
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\ufeff]")

# Speech tags in scripts without capital letters (and Cyrillic, Greek): the name of the
# speaker is group "n". Japanese: 「…」とミラは言った / ミラは「…」; Arabic: قالت ميرا;
# Hebrew: אמרה מירה; Hindi: मीरा ने कहा; Russian: сказала Мира; Greek: είπε η Μίρα.
_KANA_NAME = r"(?P<n>[\u30a1-\u30fa\u30fc]{2,}|[\u4e00-\u9fff]{1,4}(?=さん|くん|ちゃん|は|が))"
NATIVE_TAG_AFTER: tuple[re.Pattern[str], ...] = (
    re.compile(rf"^\s*と\s*{_KANA_NAME}(?:さん|くん|ちゃん)?(?:は|が)?"),
    re.compile(
        r"^\s*[،,.!؟?]*\s*(?:قال|قالت|صاح|صاحت|سأل|سألت|همس|همست|أجاب|أجابت|عدّ|عد)"
        r"\s+(?P<n>[\u0621-\u064a]{2,})"
    ),
    re.compile(
        r"^\s*[,.!?]*\s*(?:אמר|אמרה|צעק|צעקה|שאל|שאלה|ענה|ענתה|לחש|לחשה)\s+(?P<n>[\u05d0-\u05ea]{2,})"
    ),
    re.compile(
        r"^[\s,.!?—–-]*(?:сказал|сказала|спросил|спросила|крикнул|крикнула"  # noqa: RUF001
        r"|ответил|ответила|прошептал|прошептала)\s+(?P<n>[А-ЯЁ][а-яё]+)"  # noqa: RUF001
    ),
    re.compile(
        r"^[\s,.!;—–-]*(?:είπε|ρώτησε|φώναξε|απάντησε)\s+(?:(?:ο|η)\s+)?(?P<n>[Α-Ω][α-ωά-ώ]+)"  # noqa: RUF001
    ),
)
NATIVE_TAG_AFTER += (
    re.compile(r"^\s*[,.!?]*\s*(?P<n>[\u0900-\u097f]{2,})\s+ने\s+(?:कहा|पूछा|चिल्लाया|चिल्लाई)"),
)
NATIVE_TAG_BEFORE = (
    re.compile(rf"{_KANA_NAME}(?:さん|くん|ちゃん)?(?:は|が)[^「」。]{{0,12}}$"),
    re.compile(r"(?P<n>[\u0900-\u097f]{2,})\s+ने\s+(?:कहा|पूछा|चिल्लाया|चिल्लाई)[^\u0964]{0,12}$"),
)
# Number words read as names when they start a sentence ("Nine boats rested...").
NUMBER_WORDS = frozenset(
    (
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "hundred",
        "thousand",
    )
)
