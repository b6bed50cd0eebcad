"""The instrument library: published questionnaires as versioned data (see definition.py
for the format, and each module for its source and terms of use)."""

from __future__ import annotations

from recovery.questionnaires.bam import BAM
from recovery.questionnaires.definition import Definition, definition_problems
from recovery.questionnaires.phq_gad import GAD7, PHQ9
from recovery.questionnaires.screens import AUDIT_C, CSSRS_SCREEN

LIBRARY: dict[str, Definition] = {d["code"]: d for d in (PHQ9, GAD7, BAM, AUDIT_C, CSSRS_SCREEN)}

__all__ = ["LIBRARY", "Definition", "definition_problems"]
