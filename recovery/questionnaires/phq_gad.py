"""PHQ-9 and GAD-7, English and the official US Spanish translations.

Source: Kroenke K, Spitzer RL, Williams JBW. The PHQ-9: validity of a brief depression
severity measure. J Gen Intern Med 2001;16:606-613. Spitzer RL, Kroenke K, Williams JBW,
Löwe B. A brief measure for assessing generalized anxiety disorder: the GAD-7. Arch
Intern Med 2006;166:1092-1097. Texts and translations as distributed by Pfizer on the
PHQ screeners site ("Spanish for the USA").
Terms: "No permission required to reproduce, translate, display or distribute" (Pfizer,
PHQ screeners site); both instruments may be used without a fee.

Change rules, each cited where it is used:
- Reliable change: 6 points on the PHQ-9, 4 on the GAD-7 (McMillan D, Gilbody S,
  Richards D. Defining successful treatment outcome in depression using the PHQ-9.
  J Affect Disord 2010;127:122-129; NHS Talking Therapies Manual, 2023, which uses these
  reliable-change indices).
- Response: a drop of 50% or more from baseline (Kroenke 2001; NQF measure 1884,
  Depression Response at six months).
- Remission: PHQ-9 below 5 (Kroenke 2001 "minimal" band; NQF measure 0710, Depression
  Remission at twelve months).
"""

from __future__ import annotations

from recovery.questionnaires.definition import Definition

PHQ_CITATION = (
    "Kroenke K, Spitzer RL, Williams JBW. The PHQ-9: validity of a brief depression "
    "severity measure. J Gen Intern Med 2001;16:606-613."
)
GAD_CITATION = (
    "Spitzer RL, Kroenke K, Williams JBW, Löwe B. A brief measure for assessing generalized "
    "anxiety disorder: the GAD-7. Arch Intern Med 2006;166:1092-1097."
)
PHQ_TERMS = (
    "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, "
    "with an educational grant from Pfizer Inc. No permission required to reproduce, "
    "translate, display or distribute."
)


def _frequency(none_es: str) -> list[dict[str, object]]:
    return [
        {"code": "0", "score": 0, "text": {"en": "Not at all", "es": none_es}},
        {"code": "1", "score": 1, "text": {"en": "Several days", "es": "Varios días"}},
        {
            "code": "2",
            "score": 2,
            "text": {"en": "More than half the days", "es": "Más de la mitad de los días"},
        },
        {"code": "3", "score": 3, "text": {"en": "Nearly every day", "es": "Casi todos los días"}},
    ]


PHQ9_ITEMS = [
    ("1", "44250-9", "Little interest or pleasure in doing things",
     "Poco interés o placer en hacer cosas"),
    ("2", "44255-8", "Feeling down, depressed, or hopeless",
     "Se ha sentido decaído(a), deprimido(a) o sin esperanzas"),
    ("3", "44259-0", "Trouble falling or staying asleep, or sleeping too much",
     "Ha tenido dificultad para quedarse o permanecer dormido(a), o ha dormido demasiado"),
    ("4", "44254-1", "Feeling tired or having little energy",
     "Se ha sentido cansado(a) o con poca energía"),
    ("5", "44251-7", "Poor appetite or overeating", "Sin apetito o ha comido en exceso"),
    ("6", "44258-2",
     "Feeling bad about yourself — or that you are a failure or have let yourself or your "
     "family down",
     "Se ha sentido mal con usted mismo(a) \u2013 o que es un fracaso o que ha quedado mal con "
     "usted mismo(a) o con su familia"),
    ("7", "44252-5",
     "Trouble concentrating on things, such as reading the newspaper or watching television",
     "Ha tenido dificultad para concentrarse en ciertas actividades, tales como leer el "
     "periódico o ver la televisión"),
    ("8", "44253-3",
     "Moving or speaking so slowly that other people could have noticed? Or the opposite — "
     "being so fidgety or restless that you have been moving around a lot more than usual",
     "¿Se ha movido o hablado tan lento que otras personas podrían haberlo notado? o lo "
     "contrario \u2013 muy inquieto(a) o agitado(a) que ha estado moviéndose mucho más de lo "
     "normal"),
    ("9", "44260-8",
     "Thoughts that you would be better off dead or of hurting yourself in some way",
     "Pensamientos de que estaría mejor muerto(a) o de lastimarse de alguna manera"),
]  # fmt: skip

GAD7_ITEMS = [
    ("1", "69725-0", "Feeling nervous, anxious or on edge",
     "Sentirse nervioso(a), ansioso(a) o con los nervios de punta"),
    ("2", "68509-9", "Not being able to stop or control worrying",
     "No poder dejar de preocuparse o no poder controlar la preocupación"),
    ("3", "69733-4", "Worrying too much about different things",
     "Preocuparse demasiado por diferentes cosas"),
    ("4", "69734-2", "Trouble relaxing", "Dificultad para relajarse"),
    ("5", "69735-9", "Being so restless that it is hard to sit still",
     "Estar tan inquieto(a) que es difícil permanecer sentado(a) tranquilamente"),
    ("6", "69689-8", "Becoming easily annoyed or irritable",
     "Molestarse o ponerse irritable fácilmente"),
    ("7", "69736-7", "Feeling afraid as if something awful might happen",
     "Sentir miedo como si algo terrible fuera a pasar"),
]  # fmt: skip


def _items(rows: list[tuple[str, str, str, str]]) -> list[dict[str, object]]:
    return [
        {"id": i, "loinc": loinc, "text": {"en": en, "es": es}, "options": "frequency"}
        for i, loinc, en, es in rows
    ]


PHQ9: Definition = {
    "code": "phq9",
    "version": "2001",
    "languages": ["en", "es"],
    "title": {
        "en": "Patient Health Questionnaire (PHQ-9)",
        "es": "Cuestionario sobre la salud del paciente (PHQ-9)",
    },
    "preamble": {
        "en": "Over the last 2 weeks, how often have you been bothered by any of the "
        "following problems?",
        "es": "Durante las últimas 2 semanas, ¿qué tan seguido ha tenido molestias debido a "
        "los siguientes problemas?",
    },
    "source": PHQ_CITATION,
    "terms": PHQ_TERMS,
    "loinc": {"panel": "44249-1", "total": "44261-6"},
    "option_sets": {"frequency": _frequency("Ningún día")},
    "items": _items(PHQ9_ITEMS),
    "scales": [
        {
            "id": "total",
            "label": "PHQ-9 total",
            "items": [row[0] for row in PHQ9_ITEMS],
            "method": "sum",
            # Kroenke 2001: 5, 10, 15 and 20 mark mild, moderate, moderately severe, severe.
            "bands": [
                {"min": 0, "max": 4, "label": "Minimal"},
                {"min": 5, "max": 9, "label": "Mild"},
                {"min": 10, "max": 14, "label": "Moderate"},
                {"min": 15, "max": 19, "label": "Moderately severe"},
                {"min": 20, "max": 27, "label": "Severe"},
            ],
        }
    ],
    "total": "total",
    "change": {
        "reliable_change": 6,
        "response_drop": 0.5,
        "remission_below": 5,
        "source": "Reliable change 6: McMillan, Gilbody & Richards 2010 (J Affect Disord "
        "127:122-129), NHS Talking Therapies Manual 2023. Response >=50% drop: Kroenke 2001, "
        "NQF 1884. Remission <5: Kroenke 2001, NQF 0710.",
    },
    "alerts": [
        {
            "rule": "crisis",
            "item": "9",
            "above": 0,
            "source": "Any answer above 'Not at all' on item 9 needs a same-day risk "
            "assessment (PHQ-9 instructions; Kroenke 2001).",
        },
        {"rule": "severe", "scale": "total", "above": 19, "source": "Severe band, Kroenke 2001."},
    ],
}

GAD7: Definition = {
    "code": "gad7",
    "version": "2006",
    "languages": ["en", "es"],
    "title": {
        "en": "Generalized Anxiety Disorder 7-item scale (GAD-7)",
        "es": "Escala del trastorno de ansiedad generalizada (GAD-7)",
    },
    "preamble": {
        "en": "Over the last 2 weeks, how often have you been bothered by the following problems?",
        "es": "Durante las últimas 2 semanas, ¿con qué frecuencia le han molestado los "
        "siguientes problemas?",
    },
    "source": GAD_CITATION,
    "terms": PHQ_TERMS,
    "loinc": {"panel": "69737-5", "total": "70274-6"},
    "option_sets": {"frequency": _frequency("Nunca")},
    "items": _items(GAD7_ITEMS),
    "scales": [
        {
            "id": "total",
            "label": "GAD-7 total",
            "items": [row[0] for row in GAD7_ITEMS],
            "method": "sum",
            # Spitzer 2006: 5, 10 and 15 mark mild, moderate and severe anxiety.
            "bands": [
                {"min": 0, "max": 4, "label": "Minimal"},
                {"min": 5, "max": 9, "label": "Mild"},
                {"min": 10, "max": 14, "label": "Moderate"},
                {"min": 15, "max": 21, "label": "Severe"},
            ],
        }
    ],
    "total": "total",
    "change": {
        "reliable_change": 4,
        "response_drop": 0.5,
        "source": "Reliable change 4: NHS Talking Therapies Manual 2023. Response >=50% "
        "drop from baseline, as for the PHQ-9.",
    },
    "alerts": [
        {"rule": "severe", "scale": "total", "above": 14, "source": "Severe band, Spitzer 2006."}
    ],
}
