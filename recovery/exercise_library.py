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
