"""The stages' error policy: a problem the user can fix ends a stage with one line naming it
and its fix (exit code 1); a bug keeps its traceback."""

import os
import sys

from pipeline import files


class UserError(Exception):
    """A problem with the stage's input that one line explains, with its fix."""


def run_stage(stage: str, fn, user_errors: tuple[type[BaseException], ...] = ()) -> None:
    """Run a stage's `fn`; a user error (bad param, missing input, bad data), a full disk or an op
    TensorFlow cannot run deterministically on this GPU ends it with one line `stage: message`
    and exit code 1. A bug still shows its traceback."""
    from pipeline.schema import ParamsError

    try:
        fn()
    except (ParamsError, FileNotFoundError, UserError, *user_errors) as e:
        sys.exit(f"{stage}: {e}")
    except Exception as e:
        full = files.disk_full(e)
        if full is not None:
            where = f" writing {full.filename}" if full.filename else ""
            reason = os.strerror(full.errno).lower()
            sys.exit(f"{stage}: {reason}{where}; free space on that disk and run `dvc repro` again")
        # Only stages that imported TensorFlow can meet its errors; the others must not pay its import.
        tf = sys.modules.get("tensorflow")
        if tf is None or not isinstance(e, tf.errors.UnimplementedError) or "determinis" not in str(e).lower():
            raise
        first = str(e).strip().splitlines()[0]
        sys.exit(
            f"{stage}: {first} -- TensorFlow has no deterministic GPU kernel for this op; run it on the "
            "CPU (CUDA_VISIBLE_DEVICES= dvc repro ...), which is deterministic, or report the op"
        )
