"""summarize: metrics/evaluate/*.json and the training FLOPs in metrics/train/*/metrics.json ->
metrics/summary.md, the headline figure and cost of each model; plots/evaluate/*/roc.json ->
plots/roc_comparison.png, the tweet models' ROC curves on one picture."""

import json
from pathlib import Path

from pipeline import errors, files, outputs
from pipeline.evaluation import METRICS, PLOTS, save_figure, subplots

OUT = Path("metrics/summary.md")
ROC_PNG = Path("plots/roc_comparison.png")
CURVES = Path("metrics/train")  # pipeline.outputs.CURVES, without importing TensorFlow here
TEXT_MODELS = {"rnn": "RNN", "charcnn": "char CNN", "ensemble": "ensemble", "tfidf": "TF-IDF + ridge"}
IMAGE_MODELS = ("ae", "cnn", "transfer")
TRAINED = ("ae", "cnn", "transfer", "rnn", "charcnn")  # the ensemble is weighed, not trained


def cost(name: str) -> str:
    if name not in TRAINED:
        return "no training" if name == "ensemble" else "a linear fit"
    path = outputs.CURVES / name / "metrics.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file; run `dvc repro {outputs.trained_by(name)}` first")
    return f"{json.loads(path.read_text())['train_flops']:.2g}"


def rows(m: dict) -> list[tuple[str, ...]]:
    ae, cnn, tr = m["ae"]["test"], m["cnn"], m["transfer"]
    found = [
        ("autoencoder (train_ae)", f"test MSE {ae['mse']:.4f}",
         f"PCA-{m['ae']['code_size']} MSE {ae['pca_mse']:.4f} (ratio {ae['mse_vs_pca']:.3f})", cost("ae")),
        ("deep CNN (train_cnn)", f"test accuracy {cnn['test']['accuracy']:.4f}",
         f"train accuracy {cnn['train']['accuracy']:.4f}", cost("cnn")),
        ("frozen MobileNet + Dense (train_transfer)", f"test accuracy {tr['test']['accuracy']:.4f}",
         f"train accuracy {tr['train']['accuracy']:.4f}", cost("transfer")),
    ]  # fmt: skip
    for name, label in TEXT_MODELS.items():
        t = m[name]["test"]
        label += " baseline (baseline_text)" if name == "tfidf" else f" ({outputs.trained_by(name)})"
        found.append((label, f"test micro ROC-AUC {t['roc_auc_micro']:.4f}",
                      f"macro ROC-AUC {t['roc_auc_macro']:.4f}, RMSE {t['rmse']:.4f}", cost(name)))  # fmt: skip
    return found


def roc_picture(metrics: dict) -> None:
    fig, ax = subplots(figsize=(5.5, 5))
    for name, label in TEXT_MODELS.items():
        points = json.loads((PLOTS / name / "roc.json").read_text())
        auc = metrics[name]["test"]["roc_auc_micro"]
        ax.plot([p["fpr"] for p in points], [p["tpr"] for p in points], label=f"{label} (AUC {auc:.4f})")
    ax.plot([0, 1], [0, 1], ls=":", c="grey")
    # The models differ at small false-positive rates, which a linear axis squeezes into its
    # left edge: linear up to 0.002, logarithmic beyond (as the dvc plots overlay draws it).
    ax.set_xscale("symlog", linthresh=0.002)
    ax.set_xticks([0, 0.002, 0.01, 0.05, 0.2, 1], ["0", "0.002", "0.01", "0.05", "0.2", "1"])
    ax.set(xlim=(0, 1), xlabel="false positive rate (symmetric log scale)", ylabel="true positive rate",
           title="Weather kinds in tweets: micro-averaged ROC, test split")  # fmt: skip
    ax.legend(loc="lower right")
    fig.tight_layout()
    save_figure(fig, ROC_PNG, dpi=80)


def main() -> None:
    metrics = {}
    for name in (*IMAGE_MODELS, *TEXT_MODELS):
        path = METRICS / f"{name}.json"
        if not path.is_file():
            kind = "images" if name in IMAGE_MODELS else "tweets"
            stage = "baseline_text" if name == "tfidf" else f"evaluate_{kind}@{name}"
            raise FileNotFoundError(f"{path}: no such file; run `dvc repro {stage}` first")
        metrics[name] = json.loads(path.read_text())
    lines = ["| model | headline | also | training FLOPs |", "| --- | --- | --- | ---: |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows(metrics)]
    files.write_text(OUT, "\n".join(lines) + "\n")
    roc_picture(metrics)


if __name__ == "__main__":
    errors.run_stage("summarize", main)
