"""AUDIT-C and the Columbia suicide severity screener (C-SSRS, screen version, recent).

AUDIT-C. Source: Bush K, Kivlahan DR, McDonell MB, Fihn SD, Bradley KA. The AUDIT alcohol
consumption questions (AUDIT-C). Arch Intern Med 1998;158:1789-1795; cut-offs: Bradley KA
et al. AUDIT-C as a brief screen for alcohol misuse in primary care. Alcohol Clin Exp Res
2007;31:1208-1217 (positive at 4 or more for men, 3 or more for women; 8 or more, high
risk). Items are the first three of the WHO AUDIT (Babor et al., 2nd ed., 2001).
Terms: the AUDIT is published by the WHO for free use; the AUDIT-C is a VA work in the
public domain. LOINC panel 72109-2, total 75626-2.

C-SSRS screener. Source: Posner K, Brown GK, Stanley B, et al. The Columbia-Suicide
Severity Rating Scale. Am J Psychiatry 2011;168:1266-1277; screen version ("Screen
Version - Recent"), The Columbia Lighthouse Project. Triage: yes to 1 or 2 is low risk;
yes to 3, or behaviour (6) not in the past 3 months, moderate; yes to 4 or 5, or
behaviour in the past 3 months, high. Any yes is a positive screen.
Terms: free to use in clinical, community and public settings without a licence (The
Columbia Lighthouse Project); a for-profit product needs Columbia's permission, which
a deploying organisation must check for itself. No LOINC code is used for it.
"""

from __future__ import annotations

from recovery.questionnaires.definition import Definition


def _opts(*labels: str) -> list[dict[str, object]]:
    return [{"code": str(i), "score": i, "text": {"en": t}} for i, t in enumerate(labels)]


AUDIT_C: Definition = {
    "code": "auditc",
    "version": "1998",
    "languages": ["en"],
    "title": {"en": "AUDIT-C (alcohol consumption)"},
    "preamble": {"en": "These questions ask about your use of alcoholic beverages during "
                       "the past year."},
    "source": "Bush K et al. Arch Intern Med 1998;158:1789-1795; Bradley KA et al. Alcohol "
    "Clin Exp Res 2007;31:1208-1217.",
    "terms": "WHO AUDIT: free to use. AUDIT-C: US Department of Veterans Affairs, public "
    "domain.",
    "loinc": {"panel": "72109-2", "total": "75626-2"},
    "option_sets": {
        "frequency": _opts("Never", "Monthly or less", "2-4 times a month",
                           "2-3 times a week", "4 or more times a week"),
        "quantity": _opts("1 or 2", "3 or 4", "5 or 6", "7 to 9", "10 or more"),
        "binge": _opts("Never", "Less than monthly", "Monthly", "Weekly",
                       "Daily or almost daily"),
    },
    "items": [
        {"id": "1", "loinc": "68518-0", "options": "frequency",
         "text": {"en": "How often do you have a drink containing alcohol?"}},
        {"id": "2", "loinc": "68519-8", "options": "quantity",
         "text": {"en": "How many standard drinks containing alcohol do you have on a "
                        "typical day?"}},
        {"id": "3", "loinc": "68520-6", "options": "binge",
         "text": {"en": "How often do you have six or more drinks on one occasion?"}},
    ],
    "scales": [
        {"id": "total", "label": "AUDIT-C total", "items": ["1", "2", "3"], "method": "sum",
         # Bradley 2007: 3 is positive for women only, 4-7 positive, 8+ high risk.
         "bands": [{"min": 0, "max": 2, "label": "Negative"},
                   {"min": 3, "max": 3, "label": "Positive for women"},
                   {"min": 4, "max": 7, "label": "Positive"},
                   {"min": 8, "max": 12, "label": "Positive, high risk"}]},
    ],
    "total": "total",
    "alerts": [
        {"rule": "severe", "scale": "total", "above": 7,
         "source": "Bradley 2007: AUDIT-C 8 or more, high risk."},
    ],
}  # fmt: skip


def _yes(weight: int) -> list[dict[str, object]]:
    # The answer's score is its triage weight: the screen's risk is the highest weight.
    return [
        {"code": "no", "score": 0, "text": {"en": "No"}},
        {"code": "yes", "score": weight, "text": {"en": "Yes"}},
    ]


CSSRS_SCREEN: Definition = {
    "code": "cssrs_screen",
    "version": "2008-recent",
    "languages": ["en"],
    "title": {"en": "Columbia Suicide Severity Rating Scale, screen version"},
    "preamble": {"en": "In the past month:"},
    "source": "Posner K et al. Am J Psychiatry 2011;168:1266-1277. C-SSRS Screen Version - "
    "Recent, The Columbia Lighthouse Project.",
    "terms": "Free for clinical, community and public settings without a licence (The "
    "Columbia Lighthouse Project); for-profit use needs Columbia's permission.",
    "option_sets": {"low": _yes(1), "moderate": _yes(2), "high": _yes(3)},
    "items": [
        {"id": "1", "options": "low",
         "text": {"en": "Have you wished you were dead or wished you could go to sleep and "
                        "not wake up?"}},
        {"id": "2", "options": "low",
         "text": {"en": "Have you actually had any thoughts of killing yourself?"}},
        {"id": "3", "options": "moderate",
         "enable_when": {"item": "2", "op": "gt", "value": 0},
         "text": {"en": "Have you been thinking about how you might do this?"}},
        {"id": "4", "options": "high",
         "enable_when": {"item": "2", "op": "gt", "value": 0},
         "text": {"en": "Have you had these thoughts and had some intention of acting on "
                        "them?"}},
        {"id": "5", "options": "high",
         "enable_when": {"item": "2", "op": "gt", "value": 0},
         "text": {"en": "Have you started to work out or worked out the details of how to "
                        "kill yourself? Do you intend to carry out this plan?"}},
        {"id": "6", "options": "moderate",
         "text": {"en": "Have you ever done anything, started to do anything, or prepared "
                        "to do anything to end your life?"}},
        {"id": "6b", "options": "high",
         "enable_when": {"item": "6", "op": "gt", "value": 0},
         "text": {"en": "Was this within the past 3 months?"}},
    ],
    "scales": [
        {"id": "risk", "label": "Risk level", "method": "max",
         "items": ["1", "2", "3", "4", "5", "6", "6b"],
         "bands": [{"min": 0, "max": 0, "label": "Negative"},
                   {"min": 1, "max": 1, "label": "Low risk"},
                   {"min": 2, "max": 2, "label": "Moderate risk"},
                   {"min": 3, "max": 3, "label": "High risk"}]},
    ],
    "total": "risk",
    "alerts": [
        {"rule": "crisis", "scale": "risk", "above": 0,
         "source": "Any yes is a positive screen (C-SSRS screener triage)."},
    ],
}  # fmt: skip
