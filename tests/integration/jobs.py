"""One periodic job in a process of its own, for the concurrency tests.

    python -m tests.integration.jobs dispatch --start-at <epoch seconds> --batch-size 25
    (or sweep, or questionnaires)

Sets Django up, waits for the shared start instant (so two processes really overlap),
then runs the job again and again until a run finds nothing to do, as successive
scheduler ticks would. Prints one JSON line: how many rows this process handled.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("job", choices=["dispatch", "sweep", "questionnaires"])
    parser.add_argument("--start-at", type=float, default=0.0)
    parser.add_argument("--batch-size", type=int, default=25)
    parser.add_argument("--max-runs", type=int, default=1000)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    import django

    django.setup()
    from django.db import connection

    connection.ensure_connection()  # connect before the start line, not after it
    delay = args.start_at - time.time()
    if delay > 0:
        time.sleep(delay)

    handled = batches = runs = 0
    for runs in range(1, args.max_runs + 1):  # noqa: B007 - reported below
        if args.job == "dispatch":
            from notifications.dispatch import dispatch_due

            report = dispatch_due(batch_size=args.batch_size)
            done, batch_count = report.claimed, report.batches
        elif args.job == "questionnaires":
            from recovery.services.questionnaire_schedules import questionnaires_sweep

            # One run makes everything due at once: there is no batch to count.
            done, batch_count = questionnaires_sweep().made_due, 1
        else:
            from recovery.services.sweep import sweep_missed_checkins

            sweep = sweep_missed_checkins(batch_size=args.batch_size)
            done, batch_count = sweep.schedules, sweep.batches
        handled += done
        batches += batch_count
        if done == 0:
            break
    print(json.dumps({"job": args.job, "handled": handled, "batches": batches, "runs": runs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
