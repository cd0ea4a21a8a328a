"""Editing a finished panel: what an edit changes, and what must be made again for it.

Lettering is a layer over the image, so words never redraw: a changed caption, narration or
line is re-spoken (when it is spoken at all), and only a changed image prompt draws the
picture again. The worker applies the same rule by asset name (``panelflow.domain.assets``):
an asset whose inputs did not change keeps its name and is reused.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from panelflow.domain.models import DialogueLine, Panel, PanelStatus

# A dialogue line may be the narrator's as well as a character's.
NARRATOR = "narrator"


class Redo(str, enum.Enum):
    """What a panel needs made again after an edit."""

    NOTHING = "nothing"
    SPEECH = "speech"
    IMAGE = "image"
    BOTH = "both"

    @property
    def paid(self) -> bool:
        return self != Redo.NOTHING


@dataclass(frozen=True)
class PanelEdit:
    """A validated edit; None leaves a field as it is."""

    caption: str | None = None
    narration: str | None = None
    dialogue: tuple[DialogueLine, ...] | None = None
    image_prompt: str | None = None

    def applied(self, panel: Panel) -> Panel:
        """A copy of ``panel`` with the edit made."""
        edited = Panel.from_dict(panel.to_dict())
        if self.caption is not None:
            edited.caption = self.caption
        if self.narration is not None:
            edited.narration = self.narration
        if self.dialogue is not None:
            edited.dialogue = list(self.dialogue)
        if self.image_prompt is not None:
            edited.image_prompt = self.image_prompt
        return edited

    def fields(self, panel: Panel) -> dict[str, Any]:
        """The panel document fields the edit changes (empty when it changes nothing)."""
        before, after = panel.to_dict(), self.applied(panel).to_dict()
        names = ("caption", "narration", "dialogue", "imagePrompt")
        return {name: after[name] for name in names if after[name] != before[name]}


def spoken(panel: Panel) -> tuple[object, ...]:
    """What the panel's audio says: the narration (or the caption without one) and the
    lines with words, by speaker. The audio's name is derived from the same lines."""
    lead = panel.narration or panel.caption
    return (lead, *((line.speaker, line.text) for line in panel.dialogue if line.text.strip()))


def redo(panel: Panel, edited: Panel) -> Redo:
    """What ``panel`` needs made again to become ``edited``. A failed panel is made again
    whatever changed: it has nothing to keep."""
    if panel.status == PanelStatus.FAILED:
        return Redo.BOTH
    speech = spoken(panel) != spoken(edited)
    image = panel.image_prompt != edited.image_prompt or panel.image is None
    if speech and image:
        return Redo.BOTH
    if image:
        return Redo.IMAGE
    return Redo.SPEECH if speech else Redo.NOTHING
