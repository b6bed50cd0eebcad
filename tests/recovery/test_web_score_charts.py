"""The patient page charts each instrument's scores with its severity bands shaded."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from recovery.services.questionnaires import questionnaire_submit
from tests.recovery.test_web_dashboard import browser

pytestmark = pytest.mark.django_db


def test_the_patient_page_charts_phq9_scores_over_its_five_bands(
    enrollment: Any, counselor: Any
) -> None:
    for days_ago, answer in ((14, "2"), (0, "1")):  # 16 then 8
        questionnaire_submit(
            enrollment=enrollment,
            client_id=uuid.uuid4(),
            instrument="phq9",
            answers={str(i): answer for i in range(1, 9)} | {"9": "0"},
            device_time=timezone.now() - timedelta(days=days_ago),
            device_timezone="UTC",
        )
    html = browser(counselor).get(f"/dashboard/patients/{enrollment.id}/").content.decode()
    assert "Questionnaire scores" in html
    assert "Patient Health Questionnaire (PHQ-9)" in html
    bands = re.findall(r'<rect class="band band--(\d)"[^>]*><title>([^<]+)</title>', html)
    assert bands == [
        ("1", "Minimal"),
        ("2", "Mild"),
        ("3", "Moderate"),
        ("4", "Moderately severe"),
        ("5", "Severe"),
    ]
    assert len(re.findall(r'class="dot dot--score"', html)) == 2
    assert "2 scores from 16 to 8 (latest band: Mild)" in html


def test_no_score_section_without_scores(enrollment: Any, counselor: Any) -> None:
    html = browser(counselor).get(f"/dashboard/patients/{enrollment.id}/").content.decode()
    assert "Questionnaire scores" not in html
