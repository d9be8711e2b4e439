import json

import numpy as np

from pipeline import fashion, files, image_evaluation, tweet_evaluation


def test_classification_metrics():
    y = np.array([0, 1, 2, 2])
    probs = np.eye(10)[[0, 1, 2, 3]] * 0.9 + 0.01
    m = image_evaluation.classification(probs, y)
    assert m["accuracy"] == 0.75 and m["loss"] > 0
    per_class = image_evaluation.per_class_accuracy(probs, y)
    assert per_class == {"T-shirt/top": 1.0, "Trouser": 1.0, "Pullover": 0.5}
    records = image_evaluation.confusion_records(probs, y)
    assert records[3] == {"actual": "Pullover", "predicted": "Dress"}


def test_pca_baseline_recovers_low_rank_images():
    rng = np.random.default_rng(0)
    basis = rng.integers(0, 128, size=(2, 784))
    weights = rng.random((100, 2))
    images = (weights @ basis).reshape(100, 28, 28).astype(np.uint8)
    assert image_evaluation.pca_baseline(images, images, 2, seed=0) < 1e-4
    assert image_evaluation.pca_baseline(images, images, 1, seed=0) > 1e-4


def test_text_metrics_perfect_and_random():
    rng = np.random.default_rng(0)
    k = (rng.random((200, 15)) < 0.2) * rng.choice([0.6, 1.0], size=(200, 15))
    k[:, 5] = 0  # a kind with no positive tweet: left out of the macro average
    perfect = tweet_evaluation.text_metrics(k, k, 0.5)
    assert perfect["rmse"] == 0 and perfect["roc_auc_micro"] == 1 and perfect["roc_auc_macro"] == 1
    assert perfect["auc_kinds"] == 14 and "hurricane" not in perfect["roc_auc_per_kind"]
    noise = tweet_evaluation.text_metrics(k, rng.random((200, 15)), 0.5)
    assert 0.4 < noise["roc_auc_micro"] < 0.6


def test_roc_records_are_valid_json(tmp_path):
    k = np.array([[1.0] + [0.0] * 14, [0.0] * 15])
    scores = np.array([[0.9] + [0.1] * 14, [0.2] * 15])
    records = tweet_evaluation.roc_records(k, scores, 0.5)
    assert records[0]["threshold"] == 1.0  # sklearn's inf, capped
    files.write_json(tmp_path / "roc.json", records)
    assert json.loads((tmp_path / "roc.json").read_text()) == records


def test_pictures_are_written_and_reproducible(tmp_path, images):
    x, _ = images
    image_evaluation.reconstructions_png(tmp_path / "a.png", x[:3] / 255, x[:3] / 255)
    image_evaluation.reconstructions_png(tmp_path / "b.png", x[:3] / 255, x[:3] / 255)
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    k = np.zeros((4, 15))
    k[:2, 9] = 1
    tweet_evaluation.roc_per_kind_png(tmp_path / "roc.png", k, np.random.default_rng(0).random((4, 15)), 0.5, "t")
    assert (tmp_path / "roc.png").stat().st_size > 1000


def test_fashion_split_is_stratified(images):
    x, y = images
    x_tr, x_va, y_tr, y_va = fashion.split_train_val(x, y, 0.25, seed=0)
    assert len(y_va) == 10 and np.bincount(y_va).tolist() == [1] * 10
    again = fashion.split_train_val(x, y, 0.25, seed=0)
    assert np.array_equal(again[3], y_va)
