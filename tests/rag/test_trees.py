"""rag.trees against LightGBM itself: the numpy evaluation of a saved model gives LightGBM's raw
scores, missing values included."""

from __future__ import annotations

import numpy as np
import pytest

from rag.trees import TreeEnsemble

lgb = pytest.importorskip("lightgbm", reason="lightgbm is a dev dependency (make install)")


def _data(seed: int, n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 6)).astype(np.float32)
    x[:, 2] = x[:, 2] > 0.5  # a flag
    x[:, 3] = np.round(x[:, 3] * 4)  # few values, zeros among them
    y = ((x[:, 0] + x[:, 2] - 0.5 * x[:, 3] + 0.2 * rng.random(n)) > 0.6).astype(int)
    return x, y


@pytest.mark.parametrize(
    "params",
    [
        {"objective": "lambdarank", "num_leaves": 15},
        {"objective": "binary", "num_leaves": 7, "zero_as_missing": True},
        {"objective": "regression", "num_leaves": 31, "min_data_in_leaf": 2},
    ],
)
def test_scores_equal_lightgbm_raw_scores(params: dict) -> None:
    x, y = _data(0)
    x_nan = x.copy()
    x_nan[::7, 1] = np.nan  # NaN in training: splits on feature 1 treat NaN as missing
    ds = lgb.Dataset(x_nan, y, group=[60] * 10 if params["objective"] == "lambdarank" else None)
    booster = lgb.train({**params, "verbose": -1, "num_threads": 1}, ds, 40)
    model = TreeEnsemble.from_text(booster.model_to_string())
    test, _ = _data(1, 300)
    test[::5, 1] = np.nan
    test[::11, 0] = np.nan  # NaN where training had none: compared as 0
    want = booster.predict(test, raw_score=True)
    got = model.predict(test)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    assert np.std(got) > 0  # the trees split: not a constant model


def test_one_leaf_trees_give_their_value() -> None:
    x = np.zeros((50, 3), np.float32)  # nothing to split on
    booster = lgb.train({"objective": "regression", "verbose": -1}, lgb.Dataset(x, np.arange(50.0)), 3)
    model = TreeEnsemble.from_text(booster.model_to_string())
    assert len(model.first_node) == 0  # every tree is one leaf
    np.testing.assert_allclose(model.predict(x[:4]), booster.predict(x[:4]), rtol=1e-12)


def test_refuses_what_it_cannot_evaluate() -> None:
    with pytest.raises(ValueError, match="not a LightGBM text model"):
        TreeEnsemble.from_text("hello=1\n")
    x, y = _data(2)
    booster = lgb.train(
        {"objective": "binary", "verbose": -1}, lgb.Dataset(x, y, categorical_feature=[3]), 20
    )
    with pytest.raises(ValueError, match="categorical"):
        TreeEnsemble.from_text(booster.model_to_string())
    model = TreeEnsemble.from_text(
        lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(x, y), 2).model_to_string()
    )
    with pytest.raises(ValueError, match="expected rows of 6 features"):
        model.predict(np.zeros((2, 5)))
    damaged = (
        booster.model_to_string().replace("num_cat=", "num_catx=").replace("leaf_value=", "leaf_value=0 ", 1)
    )
    with pytest.raises(ValueError):
        TreeEnsemble.from_text(damaged)


def test_the_compiled_walk_reaches_the_leaves_numpy_does() -> None:
    """A model whose splits have no missing-value rule (trained without NaN) is walked root to
    leaf by the compiled loop: the same leaves as numpy's evaluation of all nodes, the same
    scores as LightGBM; a row with a NaN is evaluated by numpy."""
    x, y = _data(3)
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 31, "verbose": -1, "num_threads": 1}, lgb.Dataset(x, y), 30
    )
    model = TreeEnsemble.from_text(booster.model_to_string())
    assert not model.missing.any()  # the compiled walk applies
    test, _ = _data(4, 300)
    rows = np.asarray(test, np.float64)
    assert np.array_equal(model.exit_leaves(rows), model.exit_leaves(rows, compiled=False))
    np.testing.assert_allclose(
        model.predict(test), booster.predict(test, raw_score=True), rtol=1e-9, atol=1e-9
    )
    test[::9, 0] = np.nan
    np.testing.assert_allclose(
        model.predict(test), booster.predict(test, raw_score=True), rtol=1e-9, atol=1e-9
    )


def test_the_shipped_models_reach_the_same_leaves_either_way() -> None:
    """The span and sentence models as served: the compiled walk and numpy agree on rows like
    theirs (flags, counts, zeros)."""
    from rag.answer import Policy

    policy = Policy.load()
    rng = np.random.default_rng(5)
    for model in (policy.span_model.trees, policy.sentence_model.trees):
        assert model is not None
        rows = rng.random((64, model.n_features)) * rng.integers(0, 3, size=(64, model.n_features))
        assert np.array_equal(model.exit_leaves(rows), model.exit_leaves(rows, compiled=False))
