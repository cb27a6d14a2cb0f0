"""A hand-written LightGBM text model, for tests of code that reads one (no LightGBM needed)."""

from __future__ import annotations


def one_split_text(feature: int, n_features: int, threshold: float = 0.5) -> str:
    """One tree of two leaves: +1 where feature `feature` is above `threshold`, -1 elsewhere."""
    return (
        f"tree\nversion=v4\nnum_class=1\nmax_feature_idx={n_features - 1}\n\nTree=0\nnum_leaves=2\n"
        f"num_cat=0\nsplit_feature={feature}\nthreshold={threshold}\ndecision_type=2\n"
        "left_child=-1\nright_child=-2\nleaf_value=-1 1\nis_linear=0\n\nend of trees\n"
    )
