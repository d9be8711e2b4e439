"""What every evaluation writes: where its metrics and plots go, numbers rounded the same way,
and figures saved the same way. The figures of each kind of model are in image_evaluation and
tweet_evaluation, so that each kind's stages depend on their own code alone.

Everything written is rounded to 6 significant digits, so the committed files stay
readable and diffs show real changes, and holds only values that the same inputs reproduce.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on these machines; every figure goes to a file
import matplotlib.pyplot as plt  # noqa: E402

from pipeline import files  # noqa: E402

METRICS = Path("metrics/evaluate")
PLOTS = Path("plots/evaluate")
# PNG metadata would otherwise carry the matplotlib version, making identical runs differ
# across machines with another patch release.
PNG_META = {"Software": None}


def r(x: float) -> float:
    return float(f"{float(x):.6g}")


def save_figure(fig, path: Path, dpi: int) -> None:
    with files.replacing(path) as tmp:
        fig.savefig(tmp, dpi=dpi, metadata=PNG_META)
    plt.close(fig)
