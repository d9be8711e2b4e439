import json

import numpy as np
import pytest
import yaml

from pipeline import tweets
from stages import baseline_text
from tests.conftest import ROOT, make_tweets


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder with the prepared tweet splits of a tiny table and the project's params.yaml."""
    monkeypatch.chdir(tmp_path)
    df, _ = tweets.clean(make_tweets(90))
    for name, part in zip(("train", "val", "test"), tweets.split(df, 0.2, 0.2, 0), strict=True):
        (tmp_path / tweets.PREPARED).mkdir(parents=True, exist_ok=True)
        part.to_csv(tmp_path / tweets.PREPARED / f"{name}.csv", index=False)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["baseline_text"]["max_features"] = 500
    return tmp_path, params


def run(project, monkeypatch, **overrides) -> float:
    """Run the stage with these baseline_text params; return the alpha its ridge was built with."""
    where, params = project
    params["baseline_text"].update(overrides)
    (where / "params.yaml").write_text(yaml.safe_dump(params))
    built = []
    real_build = baseline_text.build

    def recording_build(**kwargs):
        built.append(kwargs["alpha"])
        return real_build(**kwargs)

    monkeypatch.setattr(baseline_text, "build", recording_build)
    baseline_text.main()
    return built[0]


@pytest.mark.parametrize("with_val, splits", [(True, ("train", "val")), (False, ("train",))])
def test_the_penalty_is_per_tweet_fitted(project, monkeypatch, with_val, splits):
    fitted = sum(len(tweets.load_prepared(s)[0]) for s in splits)
    alpha = run(project, monkeypatch, alpha_per_1000_tweets=0.5, with_val=with_val)
    assert alpha == pytest.approx(0.5 * fitted / 1000)
    found = json.loads((project[0] / "metrics/evaluate/tfidf.json").read_text())["test"]
    assert 0.5 < found["roc_auc_micro"] <= 1.0  # the tiny tweets' words say their kinds


def test_build_scores_strings_into_the_fifteen_kinds():
    df, _ = tweets.clean(make_tweets(40))
    x, k = df["tweet"].to_numpy(str), tweets.labels(df)
    model = baseline_text.build(max_features=200, alpha=0.1).fit(x, k)
    assert model.steps[1][1].alpha == 0.1
    scores = model.predict(np.array(["so much snow today", "so much rain today"]))
    assert scores.shape == (2, 15)
    snow, rain = tweets.KINDS.index("snow"), tweets.KINDS.index("rain")
    assert scores[0, snow] > scores[1, snow] and scores[1, rain] > scores[0, rain]
