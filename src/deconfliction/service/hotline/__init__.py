"""The hotline: messages between parties' duty desks, with classes, typed templates,
rendering in each reader's language, deadlines, escalation and line suspension."""

from deconfliction.service.hotline.model import (
    LANGUAGES,
    Deadline,
    Deadlines,
    Escalation,
    Line,
    Message,
    MessageClass,
    Stage,
)
from deconfliction.service.hotline.service import HotlineService, duty_desk
from deconfliction.service.hotline.templates import TEMPLATES, Template

__all__ = [
    "LANGUAGES",
    "TEMPLATES",
    "Deadline",
    "Deadlines",
    "Escalation",
    "HotlineService",
    "Line",
    "Message",
    "MessageClass",
    "Stage",
    "Template",
    "duty_desk",
]
