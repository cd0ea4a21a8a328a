"""The font files lettering uses: constants only, so the staging script (standard library
only) can read them to copy the fonts into the function bundles that letter.

All are Noto (SIL Open Font Licence 1.1) from Debian's ``fonts-noto-core`` and
``fonts-noto-cjk``, plus DejaVu Sans (``fonts-dejavu-core``, a free licence) as the last resort.
"""

CJK_FILE = "NotoSansCJK-Regular.ttc"
# Font files per script, best first.
SCRIPT_FILES: dict[str, tuple[str, ...]] = {
    "latin": ("NotoSans-Regular.ttf",),
    "arabic": ("NotoSansArabic-Regular.ttf", "NotoNaskhArabic-Regular.ttf"),
    "hebrew": ("NotoSansHebrew-Regular.ttf",),
    "devanagari": ("NotoSansDevanagari-Regular.ttf",),
    "cjk": (CJK_FILE,),
}
# Tried after the script fonts, for symbols and anything the others lack.
FALLBACK_FILES = ("NotoSansSymbols-Regular.ttf", "NotoSansSymbols2-Regular.ttf", "DejaVuSans.ttf")
FONT_FILES = tuple(name for names in SCRIPT_FILES.values() for name in names) + FALLBACK_FILES
# Where Debian puts them (searched after PANELFLOW_FONT_DIR and the bundle's own copies).
SYSTEM_DIRS = (
    "/usr/share/fonts/truetype/noto",
    "/usr/share/fonts/opentype/noto",
    "/usr/share/fonts/truetype/dejavu",
)
