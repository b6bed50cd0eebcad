"""The Brief Addiction Monitor (BAM), 17 items, VA self-report version with response
options.

Source: Cacciola JS, Alterman AI, DePhilippis D, et al. Development and initial evaluation
of the Brief Addiction Monitor (BAM). J Subst Abuse Treat 2013;44(3):256-263. Scoring
from the VA BAM manual (VISN 4 MIRECC, 2010/2011): Use = items 4 + 5 + 6 (days, 0-90);
Risk = items 1, 2, 3, 8, 11, 15 (0-24); Protective = items 9, 10, 12, 13, 14, 16 (0-24).
Item 7 (7A-7G, days of each drug) elaborates item 6 and is not scored; item 17
(satisfaction with progress) is read on its own and belongs to no subscale. Cut-offs
from the manual: any Use is clinically significant; Risk 12 or more and Protective 12 or
less call for attention.
Terms: a work of the US Department of Veterans Affairs, in the public domain; free to use.
No LOINC panel for the BAM was found, so it is exported without one.
"""

from __future__ import annotations

from recovery.questionnaires.definition import Definition

BAM_CITATION = (
    "Cacciola JS, Alterman AI, DePhilippis D, Drapkin ML, Valadez C Jr, Fala NC, Oslin D, "
    "McKay JR. Development and initial evaluation of the Brief Addiction Monitor (BAM). "
    "J Subst Abuse Treat 2013;44(3):256-263. Scoring: VA BAM manual, VISN 4 MIRECC."
)


def _opts(*labels: str) -> list[dict[str, object]]:
    return [{"code": str(i), "score": i, "text": {"en": t}} for i, t in enumerate(labels)]


def _days_item(item_id: str, text: str, **extra: object) -> dict[str, object]:
    return {"id": item_id, "text": {"en": text}, "kind": "number", "min": 0, "max": 30, **extra}


DRUGS = [
    ("7A", "Marijuana (cannabis, pot, weed)"),
    ("7B", "Sedatives/Tranquilizers (e.g., benzos, Valium, Xanax, Ativan, Ambien, barbs, "
           "Phenobarbital, downers, etc.)"),
    ("7C", "Cocaine/Crack"),
    ("7D", "Other Stimulants (e.g., amphetamine, methamphetamine, Dexedrine, Ritalin, "
           "Adderall, speed, crystal meth, ice, etc.)"),
    ("7E", "Opiates (e.g., Heroin, Morphine, Dilaudid, Demerol, Oxycontin, oxy, codeine "
           "(Tylenol 2,3,4), Percocet, Vicodin, Fentanyl, etc.)"),
    ("7F", "Inhalants (glues, adhesives, nail polish remover, paint thinner, etc.)"),
    ("7G", "Other drugs (steroids, non-prescription sleep/diet pills, Benadryl, Ephedra, "
           "other over-the-counter/unknown medications)"),
]  # fmt: skip

BAM: Definition = {
    "code": "bam",
    "version": "2011",
    "languages": ["en"],
    "title": {"en": "Brief Addiction Monitor (BAM)"},
    "preamble": {
        "en": "This questionnaire asks about the past 30 days. Choose the answer that fits "
        "best, or give a number of days."
    },
    "source": BAM_CITATION,
    "terms": "US Department of Veterans Affairs; public domain, free to use.",
    "option_sets": {
        "health": _opts("Excellent", "Very Good", "Good", "Fair", "Poor"),
        "days": _opts("0", "1-3", "4-8", "9-15", "16-30"),
        "amount": _opts("Not at all", "Slightly", "Moderately", "Considerably", "Extremely"),
        "yes_no": [
            {"code": "no", "score": 0, "text": {"en": "No"}},
            {"code": "yes", "score": 4, "text": {"en": "Yes"}},
        ],
    },
    "items": [
        {"id": "1", "options": "health",
         "text": {"en": "In the past 30 days, would you say your physical health has been?"}},
        {"id": "2", "options": "days",
         "text": {"en": "In the past 30 days, how many nights did you have trouble falling "
                        "asleep or staying asleep?"}},
        {"id": "3", "options": "days",
         "text": {"en": "In the past 30 days, how many days have you felt depressed, anxious, "
                        "angry or very upset throughout most of the day?"}},
        _days_item("4", "In the past 30 days, how many days did you drink ANY alcohol?"),
        _days_item("5", "In the past 30 days, how many days did you have at least 5 drinks "
                        "(if you are a man) or at least 4 drinks (if you are a woman)? "
                        "[One drink is considered one shot of hard liquor (1.5 oz.) or "
                        "12-ounce can/bottle of beer or 5 ounce glass of wine.]"),
        _days_item("6", "In the past 30 days, how many days did you use any illegal/street "
                        "drugs or abuse any prescription medications?"),
        *[
            _days_item(code, f"In the past 30 days, how many days did you use: {name}",
                       enable_when={"item": "6", "op": "gt", "value": 0})
            for code, name in DRUGS
        ],
        {"id": "8", "options": "amount",
         "text": {"en": "In the past 30 days, how much were you bothered by cravings or urges "
                        "to drink alcohol or use drugs?"}},
        {"id": "9", "options": "amount",
         "text": {"en": "How confident are you in your ability to be completely abstinent "
                        "(clean) from alcohol and drugs in the next 30 days?"}},
        {"id": "10", "options": "days",
         "text": {"en": "In the past 30 days, how many days did you attend self-help "
                        "meetings like AA or NA to support your recovery?"}},
        {"id": "11", "options": "days",
         "text": {"en": "In the past 30 days, how many days were you in any situations or "
                        "with any people that might put you at an increased risk for using "
                        "alcohol or drugs (i.e., around risky \"people, places or things\")?"}},
        {"id": "12", "options": "amount",
         "text": {"en": "Does your religion or spirituality help support your recovery?"}},
        {"id": "13", "options": "days",
         "text": {"en": "In the past 30 days, how many days did you spend much of the time "
                        "at work, school, or doing volunteer work?"}},
        {"id": "14", "options": "yes_no",
         "text": {"en": "Do you have enough income (from legal sources) to pay for "
                        "necessities such as housing, transportation, food and clothing for "
                        "yourself and your dependents?"}},
        {"id": "15", "options": "amount",
         "text": {"en": "In the past 30 days, how much have you been bothered by arguments "
                        "or problems getting along with any family members or friends?"}},
        {"id": "16", "options": "days",
         "text": {"en": "In the past 30 days, how many days were you in contact or spent "
                        "time with any family members or friends who are supportive of your "
                        "recovery?"}},
        {"id": "17", "options": "amount",
         "text": {"en": "How satisfied are you with your progress toward achieving your "
                        "recovery goals?"}},
    ],
    "scales": [
        {"id": "use", "label": "Use (days)", "items": ["4", "5", "6"], "method": "sum",
         "bands": [{"min": 0, "max": 0, "label": "No use"},
                   {"min": 1, "max": 90, "label": "Any use"}]},
        {"id": "risk", "label": "Risk factors", "items": ["1", "2", "3", "8", "11", "15"],
         "method": "sum",
         "bands": [{"min": 0, "max": 11, "label": "Lower risk"},
                   {"min": 12, "max": 24, "label": "Elevated risk"}]},
        {"id": "protective", "label": "Protective factors",
         "items": ["9", "10", "12", "13", "14", "16"], "method": "sum",
         "bands": [{"min": 0, "max": 12, "label": "Low protection"},
                   {"min": 13, "max": 24, "label": "Adequate protection"}]},
    ],
    "total": "use",
    "alerts": [
        {"rule": "use", "scale": "use", "above": 0,
         "source": "VA BAM manual: any Use score (1 or more) is clinically significant."},
    ],
}  # fmt: skip
