"""The decision `videobot approve` was asked to take, read from its arguments, and why a job
has no gate to take it."""

from __future__ import annotations

import argparse
import getpass

from cli.errors import CommandError
from videobot.decisions import SCRIPT_PARTS, Decision, over_length, parse_scene_numbers


def decision_from_args(args: argparse.Namespace) -> Decision:
    """The decision `videobot approve` was given; one line of error for a mistake."""
    by = f"cli:{getpass.getuser()}"
    if args.text is not None and args.edit is None:
        raise CommandError("--text is the new text of an --edit; give --edit too")
    problem = over_length(args.feedback, args.text)
    if problem is not None:
        raise CommandError(problem)
    if args.cancel:
        return Decision.make("cancel", by)
    if args.feedback is not None:
        return Decision.make("regenerate", by, feedback=args.feedback)
    if args.redo is not None:
        try:
            return Decision.make("redo", by, scenes=parse_scene_numbers(args.redo))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    if args.edit is not None:
        if not args.text:
            raise CommandError("--edit needs --text with the new text")
        if args.stage == "script":
            if args.edit not in SCRIPT_PARTS:
                raise CommandError("at the script gate --edit takes intro, main, outro or style")
            return Decision.make("edit", by, part=args.edit, text=args.text)
        try:
            (scene,) = parse_scene_numbers(args.edit)
        except ValueError:
            raise CommandError("--edit takes one scene number (1-10)") from None
        return Decision.make("edit", by, scene=scene, text=args.text)
    return Decision.make("approve", by)


def not_waiting(job, stage: str, gate) -> str:  # type: ignore[no-untyped-def]
    """Why `videobot approve` finds no open `stage` gate on the job."""
    from videobot.db.models import FINISHED_STATUSES

    if job.status in FINISHED_STATUSES:  # its last gate may be undecided: it expired there
        return f"job {str(job.id)[:8]} has ended ({job.status}); no gate waits for a decision"
    where = f"the {gate.stage} gate" if gate else f"stage {job.stage} ({job.status})"
    return f"job {str(job.id)[:8]} is not waiting at the {stage} gate; it is at {where}"
