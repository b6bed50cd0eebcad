"""The clinical domain: programs, people, enrollments, check-ins, sessions and flags."""

from recovery.models.accounts import (
    LevelOfCare,
    Program,
    Role,
    User,
)
from recovery.models.checkins import CheckIn, CheckInSchedule, Trigger, UrgeEvent
from recovery.models.enrollment import (
    CareTeamMember,
    Enrollment,
    EnrollmentChange,
    EnrollmentCode,
    EnrollmentStatus,
    Stage,
)
from recovery.models.exercises import (
    Exercise,
    ExerciseAssignment,
    ExerciseCategory,
    ExercisePractice,
    FavoriteExercise,
)
from recovery.models.flags import Flag, FlagEvent, FlagKind, FlagStatus, Severity
from recovery.models.sessions import (
    Attendance,
    AttendanceStatus,
    SessionKind,
    SessionSeries,
    SessionStatus,
    TreatmentSession,
)
from recovery.models.support import Relationship, SupportContact

__all__ = [
    "Attendance",
    "AttendanceStatus",
    "CareTeamMember",
    "CheckIn",
    "CheckInSchedule",
    "Enrollment",
    "EnrollmentChange",
    "EnrollmentCode",
    "EnrollmentStatus",
    "Exercise",
    "ExerciseAssignment",
    "ExerciseCategory",
    "ExercisePractice",
    "FavoriteExercise",
    "Flag",
    "FlagEvent",
    "FlagKind",
    "FlagStatus",
    "LevelOfCare",
    "Program",
    "Relationship",
    "Role",
    "SessionKind",
    "SessionSeries",
    "SessionStatus",
    "Severity",
    "Stage",
    "SupportContact",
    "TreatmentSession",
    "Trigger",
    "UrgeEvent",
    "User",
]
