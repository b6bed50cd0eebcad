"""The shared evidence-based coping-skill library (seeded by a data migration)."""

from __future__ import annotations

# What the urge button offers a patient with no favourites and no assignments yet: short
# skills that work in the moment, in this order (slugs of LIBRARY below).
FIRST_LINE_SLUGS = ("urge-surfing", "box-breathing", "grounding-54321", "halt-check")

LIBRARY: list[dict[str, object]] = [
    {
        "slug": "urge-surfing",
        "name": "Urge surfing",
        "category": "mindfulness",
        "duration_minutes": 10,
        "summary": (
            "Ride a craving like a wave: notice it rise, peak and pass without acting on it."
        ),
        "evidence": "Mindfulness-Based Relapse Prevention (Bowen, Chawla, Marlatt)",
        "steps": [
            "Sit comfortably and notice where you feel the craving in your body.",
            "Describe the sensations to yourself: tight, warm, buzzing.",
            "Breathe slowly and watch the sensations change as you breathe.",
            "Notice the urge rise, peak and begin to fall, like a wave.",
            "Rate the craving 0 to 10 before and after.",
        ],
    },
    {
        "slug": "halt-check",
        "name": "HALT check",
        "category": "behavioral",
        "duration_minutes": 3,
        "summary": "Ask whether you are Hungry, Angry, Lonely or Tired, and meet that need first.",
        "evidence": "Relapse-prevention practice in 12-step and CBT programs",
        "steps": [
            "Am I hungry? Eat something.",
            "Am I angry? Name what happened.",
            "Am I lonely? Reach out to someone.",
            "Am I tired? Rest if you can.",
        ],
    },
    {
        "slug": "box-breathing",
        "name": "Box breathing",
        "category": "breathing",
        "duration_minutes": 4,
        "summary": "Breathe in four equal counts to calm the body's stress response.",
        "evidence": "Slow paced breathing lowers arousal (Zaccaro et al., 2018)",
        "steps": [
            "Breathe in through the nose for 4 counts.",
            "Hold for 4 counts.",
            "Breathe out for 4 counts.",
            "Hold for 4 counts.",
            "Repeat four times.",
        ],
    },
    {
        "slug": "grounding-54321",
        "name": "5-4-3-2-1 grounding",
        "category": "grounding",
        "duration_minutes": 5,
        "summary": "Use your five senses to come back to the present.",
        "evidence": "Grounding techniques from trauma-informed care",
        "steps": [
            "Name 5 things you can see.",
            "Name 4 things you can touch.",
            "Name 3 things you can hear.",
            "Name 2 things you can smell.",
            "Name 1 thing you can taste.",
        ],
    },
    {
        "slug": "play-the-tape",
        "name": "Play the tape through",
        "category": "cognitive",
        "duration_minutes": 5,
        "summary": "Imagine the whole story of using, not just the first moment.",
        "evidence": "Cognitive-behavioral relapse prevention (Marlatt & Gordon)",
        "steps": [
            "Picture the first drink or use.",
            "Keep going: what happens an hour later?",
            "What happens tomorrow morning?",
            "What happens to your goals this week?",
            "Compare that with how tomorrow goes if you do not use.",
        ],
    },
    {
        "slug": "delay-distract-decide",
        "name": "Delay, distract, decide",
        "category": "behavioral",
        "duration_minutes": 15,
        "summary": "Put 15 minutes between the urge and any decision.",
        "evidence": "Urge-management skill in CBT for substance use",
        "steps": [
            "Delay: tell yourself you will decide in 15 minutes.",
            "Distract: do something absorbing (walk, call, shower, game).",
            "Decide: after 15 minutes, remind yourself why you chose recovery.",
        ],
    },
    {
        "slug": "thought-record",
        "name": "Thought record",
        "category": "cognitive",
        "duration_minutes": 10,
        "summary": "Catch a thought that fuels craving and test it.",
        "evidence": "Cognitive therapy (Beck)",
        "steps": [
            "Write down the situation.",
            "Write the automatic thought.",
            "Rate how strongly you believe it.",
            "List evidence for and against.",
            "Write a balanced thought and re-rate.",
        ],
    },
    {
        "slug": "opposite-action",
        "name": "Opposite action",
        "category": "behavioral",
        "duration_minutes": 10,
        "summary": "When an emotion pushes you toward use, act opposite to its urge.",
        "evidence": "Dialectical Behavior Therapy (Linehan)",
        "steps": [
            "Name the emotion and the action it urges.",
            "Ask whether acting on it fits the facts and your goals.",
            "Choose the opposite action and do it all the way.",
        ],
    },
    {
        "slug": "gratitude-list",
        "name": "Gratitude list",
        "category": "mindfulness",
        "duration_minutes": 5,
        "summary": "Write three things you are grateful for today.",
        "evidence": "Positive psychology interventions (Emmons & McCullough, 2003)",
        "steps": [
            "Write three things that went well or that you are grateful for.",
            "For each, write why it happened or why it matters.",
        ],
    },
    {
        "slug": "progressive-muscle-relaxation",
        "name": "Progressive muscle relaxation",
        "category": "breathing",
        "duration_minutes": 15,
        "summary": "Tense and release muscle groups to let go of physical tension.",
        "evidence": "Jacobson's progressive relaxation",
        "steps": [
            "Start with your feet: tense for 5 seconds, then release.",
            "Move up: calves, thighs, stomach, hands, arms, shoulders, face.",
            "Notice the difference between tension and relaxation.",
        ],
    },
    {
        "slug": "call-support",
        "name": "Call a support person",
        "category": "connection",
        "duration_minutes": 10,
        "summary": "Reach out to a sponsor, friend or peer before acting.",
        "evidence": "Social support predicts recovery outcomes (mutual-help research)",
        "steps": [
            "Open your support contacts.",
            "Call or text the first person you trust.",
            "Say plainly: I am having a craving and want to talk.",
        ],
    },
    {
        "slug": "values-reminder",
        "name": "Values reminder",
        "category": "cognitive",
        "duration_minutes": 5,
        "summary": "Reconnect with why recovery matters to you.",
        "evidence": "Acceptance and Commitment Therapy (Hayes)",
        "steps": [
            "Name one thing you value most (family, health, work, freedom).",
            "Ask: does using move me toward or away from it?",
            "Choose one small action toward it now.",
        ],
    },
]

# The library in Spanish, by slug (the same fields and the same number of steps as LIBRARY:
# tests/backend/test_translations.py fails otherwise). Plain words, the informal "tú" the
# app's Spanish uses, no gendered adjectives about the reader.
SPANISH: dict[str, dict[str, object]] = {
    "urge-surfing": {
        "name": "Surfear las ganas",
        "summary": (
            "Deja pasar las ganas de consumir como una ola: obsérvalas subir, llegar a su "
            "punto más alto y bajar, sin actuar."
        ),
        "evidence": "Prevención de recaídas basada en mindfulness (Bowen, Chawla, Marlatt)",
        "steps": [
            "Siéntate cómodamente y nota en qué parte del cuerpo sientes las ganas de consumir.",
            "Describe para ti las sensaciones: tensión, calor, hormigueo.",
            "Respira despacio y observa cómo cambian las sensaciones al respirar.",
            "Nota cómo las ganas suben, llegan a su punto más alto y empiezan a bajar, "
            "como una ola.",
            "Califica las ganas de 0 a 10 antes y después.",
        ],
    },
    "halt-check": {
        "name": "Revisión HALT",
        "summary": (
            "Pregúntate si tienes hambre, enojo, soledad o cansancio (HALT, por sus siglas "
            "en inglés), y atiende primero esa necesidad."
        ),
        "evidence": "Práctica de prevención de recaídas en programas de 12 pasos y de TCC",
        "steps": [
            "¿Tengo hambre? Come algo.",
            "¿Siento enojo? Ponle nombre a lo que pasó.",
            "¿Siento soledad? Comunícate con alguien.",
            "¿Siento cansancio? Descansa si puedes.",
        ],
    },
    "box-breathing": {
        "name": "Respiración cuadrada",
        "summary": (
            "Respira en cuatro tiempos iguales para calmar la reacción del cuerpo al estrés."
        ),
        "evidence": "La respiración lenta y pausada reduce la activación (Zaccaro et al., 2018)",
        "steps": [
            "Inhala por la nariz contando hasta 4.",
            "Aguanta el aire contando hasta 4.",
            "Exhala contando hasta 4.",
            "Espera sin respirar contando hasta 4.",
            "Repítelo cuatro veces.",
        ],
    },
    "grounding-54321": {
        "name": "Anclaje 5-4-3-2-1",
        "summary": "Usa tus cinco sentidos para volver al momento presente.",
        "evidence": "Técnicas de anclaje de la atención informada sobre el trauma",
        "steps": [
            "Nombra 5 cosas que puedas ver.",
            "Nombra 4 cosas que puedas tocar.",
            "Nombra 3 cosas que puedas oír.",
            "Nombra 2 cosas que puedas oler.",
            "Nombra 1 cosa que puedas saborear.",
        ],
    },
    "play-the-tape": {
        "name": "Ver la película hasta el final",
        "summary": "Imagina toda la historia del consumo, no solo el primer momento.",
        "evidence": "Prevención de recaídas cognitivo-conductual (Marlatt y Gordon)",
        "steps": [
            "Imagina la primera copa o el primer consumo.",
            "Sigue adelante: ¿qué pasa una hora después?",
            "¿Qué pasa a la mañana siguiente?",
            "¿Qué pasa con tus metas de esta semana?",
            "Compáralo con cómo sería mañana si no consumes.",
        ],
    },
    "delay-distract-decide": {
        "name": "Esperar, distraerse, decidir",
        "summary": "Deja pasar 15 minutos entre las ganas y cualquier decisión.",
        "evidence": "Habilidad de manejo de las ganas en la TCC para el consumo de sustancias",
        "steps": [
            "Espera: dite que decidirás dentro de 15 minutos.",
            "Distráete: haz algo que te absorba (caminar, llamar a alguien, ducharte, un juego).",
            "Decide: pasados los 15 minutos, recuerda por qué elegiste la recuperación.",
        ],
    },
    "thought-record": {
        "name": "Registro de pensamientos",
        "summary": "Detecta un pensamiento que alimenta las ganas de consumir y ponlo a prueba.",
        "evidence": "Terapia cognitiva (Beck)",
        "steps": [
            "Escribe la situación.",
            "Escribe el pensamiento automático.",
            "Califica cuánto lo crees.",
            "Anota las pruebas a favor y en contra.",
            "Escribe un pensamiento más equilibrado y vuelve a calificar cuánto lo crees.",
        ],
    },
    "opposite-action": {
        "name": "Acción opuesta",
        "summary": (
            "Cuando una emoción te empuje hacia el consumo, haz lo contrario de lo que te pide."
        ),
        "evidence": "Terapia dialéctica conductual (Linehan)",
        "steps": [
            "Nombra la emoción y lo que te empuja a hacer.",
            "Pregúntate si actuar así encaja con los hechos y con tus metas.",
            "Elige la acción opuesta y hazla por completo.",
        ],
    },
    "gratitude-list": {
        "name": "Lista de gratitud",
        "summary": "Escribe tres cosas por las que sientes gratitud hoy.",
        "evidence": "Intervenciones de psicología positiva (Emmons y McCullough, 2003)",
        "steps": [
            "Escribe tres cosas que salieron bien o por las que sientes gratitud.",
            "Para cada una, escribe por qué pasó o por qué te importa.",
        ],
    },
    "progressive-muscle-relaxation": {
        "name": "Relajación muscular progresiva",
        "summary": "Tensa y suelta grupos de músculos para soltar la tensión del cuerpo.",
        "evidence": "Relajación progresiva de Jacobson",
        "steps": [
            "Empieza por los pies: ténsalos durante 5 segundos y luego suéltalos.",
            "Sube poco a poco: pantorrillas, muslos, abdomen, manos, brazos, hombros, cara.",
            "Nota la diferencia entre la tensión y la relajación.",
        ],
    },
    "call-support": {
        "name": "Llamar a una persona de apoyo",
        "summary": (
            "Antes de actuar, comunícate con tu padrino o madrina, una amistad o un "
            "compañero de recuperación."
        ),
        "evidence": (
            "El apoyo social predice mejores resultados en la recuperación "
            "(investigación sobre grupos de ayuda mutua)"
        ),
        "steps": [
            "Abre tus contactos de apoyo.",
            "Llama o escribe a la primera persona en quien confíes.",
            "Dilo con claridad: tengo ganas de consumir y quiero hablar.",
        ],
    },
    "values-reminder": {
        "name": "Recordar tus valores",
        "summary": "Vuelve a conectar con lo que la recuperación significa para ti.",
        "evidence": "Terapia de aceptación y compromiso (Hayes)",
        "steps": [
            "Nombra algo que valoras mucho (familia, salud, trabajo, libertad).",
            "Pregúntate: ¿consumir me acerca o me aleja de eso?",
            "Elige ahora una pequeña acción que te acerque a eso.",
        ],
    },
}

TRANSLATED_FIELDS = ("name", "summary", "steps", "evidence")


def library_texts(slug: str) -> dict[str, object]:
    """A library exercise's texts as the model's per-language columns (`name_en`,
    `name_es`...), for whatever loads the library."""
    english = next(entry for entry in LIBRARY if entry["slug"] == slug)
    texts = {f"{field}_en": english[field] for field in TRANSLATED_FIELDS}
    texts.update({f"{field}_es": SPANISH[slug][field] for field in TRANSLATED_FIELDS})
    return texts
