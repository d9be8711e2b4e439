"""A quiet start for TensorFlow: its start-up notices kept out of a stage's stderr.

Every stage that runs TensorFlow imports `stages.with_tensorflow` first, which calls
`tensorflow()` here before any other module imports keras (tests/test_stages.py checks it)."""

import os
import sys
import tempfile

# Lines TensorFlow writes to the C-level stderr while it starts, before its logging is set up
# (so TF_CPP_MIN_LOG_LEVEL cannot hide them): notices, not problems of the run.
NOISE = (
    "All log messages before absl::InitializeLog()",
    "oneDNN custom operations are on",
    "Could not find cuda drivers",
    "failed call to cuInit",
    "Unable to register cu",
    "computation placer already registered",
    "This TensorFlow binary is optimized to use available CPU instructions",
    "To enable the following instructions",
    "TF-TRT Warning",
)

# What Keras imports for parts of it no stage uses; see tensorflow().
UNUSED_BY_KERAS = ("sklearn", "matplotlib")


def environment() -> None:
    """The environment TensorFlow reads when it starts, where the user has not set it: for any
    process that will import TensorFlow (the stages through `tensorflow()`, the tests' own)."""
    # 3: TensorFlow's C++ log lines of every level stay out of the stage's output (its own
    # failures still raise, with their message); TF_CPP_MIN_LOG_LEVEL=0 shows them again.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # TensorFlow turns its oneDNN kernels on by itself only on CPUs with AVX512_VNNI, bfloat16
    # or AMX units (tensorflow/community RFC 400); on an AVX2-only CPU it falls back to Eigen's,
    # which trained the CNN, the autoencoder and the RNN at half the speed (docs/benchmarks.md).
    # It reads this once, at import; TF_ENABLE_ONEDNN_OPTS=0 in the environment still wins.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def tensorflow() -> None:
    """Import TensorFlow and initialise its devices with its start-up notices filtered out of
    stderr; anything else it prints (a real error included) still reaches the user."""
    environment()
    if "tensorflow" in sys.modules:
        return
    # TensorFlow loads all of Keras, and Keras imports scikit-learn (and SciPy's statistics with
    # it) for its keras.wrappers and matplotlib's pyplot for its keras.visualization, which no
    # stage uses: time and memory in every process (docs/benchmarks.md). Hidden while they load,
    # Keras takes its own path for a machine without them; a stage that needs either imports it
    # afterwards as usual.
    hidden = [name for name in UNUSED_BY_KERAS if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # `import name` raises ImportError
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # CUDA's initialisation notices come here
        finally:
            for name in hidden:
                del sys.modules[name]
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [
                line
                for line in captured.read().decode(errors="replace").splitlines(keepends=True)
                if not any(n in line for n in NOISE)
            ]
            sys.stderr.write("".join(kept))
