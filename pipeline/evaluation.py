"""What every evaluation writes: where its metrics and plots go, numbers rounded the same way,
and figures saved the same way. The figures of each kind of model are in image_evaluation and
tweet_evaluation, so that each kind's stages depend on their own code alone.

Everything written is rounded to 6 significant digits, so the committed files stay
readable and diffs show real changes, and holds only values that the same inputs reproduce.
"""

from __future__ import annotations

from pathlib import Path

from pipeline import files

METRICS = Path("metrics/evaluate")
PLOTS = Path("plots/evaluate")
# PNG metadata would otherwise carry the matplotlib version, making identical runs differ
# across machines with another patch release.
PNG_META = {"Software": None}


def r(x: float) -> float:
    return float(f"{float(x):.6g}")


def subplots(*args, **kwargs):
    """matplotlib's `pyplot.subplots`, drawn by Agg: no display on these machines, every figure
    goes to a file. pyplot is imported here, on first use, not with this module: the training
    stages score with the metrics that import it and never draw."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    return pyplot.subplots(*args, **kwargs)


def save_figure(fig, path: Path, dpi: int) -> None:
    from matplotlib import pyplot

    with files.replacing(path) as tmp:
        fig.savefig(tmp, dpi=dpi, metadata=PNG_META)
    pyplot.close(fig)
