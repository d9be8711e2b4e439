"""The stages' error policy: a problem the user can fix ends a stage with one line naming it
and its fix (exit code 1); a bug keeps its traceback; a stage that succeeds ends its process
without Python's teardown."""

import atexit
import os
import sys
import threading

from pipeline import files


class UserError(Exception):
    """A problem with the stage's input that one line explains, with its fix."""


def run_stage(stage: str, fn, user_errors: tuple[type[BaseException], ...] = ()) -> None:
    """Run a stage's `fn`; a user error (bad param, missing input, bad data), a full disk or an op
    TensorFlow cannot run deterministically on this GPU ends it with one line `stage: message`
    and exit code 1. A bug still shows its traceback. Success ends the stage's process at once
    (`end_stage_process`)."""
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
    else:
        end_stage_process(sys._getframe(1))


def end_stage_process(caller) -> None:
    """End the process once a stage's work is done, as Python's exit would but without its
    teardown: wait for the threads Python waits for, run the atexit handlers, flush stdout and
    stderr, exit 0. The teardown frees, object by object, memory the OS is about to take back,
    and with TensorFlow and Keras loaded that takes seconds a stage (docs/benchmarks.md).
    Only when `caller`, the frame that ran the stage, is the whole program (`python -m
    stages.NAME`, as dvc.yaml runs it, or `python stages/NAME.py`); when other code has more to
    do after it (pytest, a profiler, a debugger, a notebook) it returns."""
    if not _is_the_program(caller):
        return
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _is_the_program(caller) -> bool:
    """Whether `caller` is the `__main__` module's own code and the outermost frame running, apart
    from runpy's (which `python -m` starts a module with): nothing runs once it is done."""
    frame = caller.f_back
    while frame is not None and frame.f_globals.get("__name__") == "runpy":
        frame = frame.f_back
    # co_name: a function of __main__'s started with no Python frame under it (a raw thread's
    # target) is outermost too, and is not the program.
    return frame is None and caller.f_code.co_name == "<module>" and caller.f_globals is vars(sys.modules["__main__"])
