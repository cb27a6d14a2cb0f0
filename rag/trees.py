"""A gradient-boosted tree ensemble read from LightGBM's own text model format and evaluated
without LightGBM, so that serving needs neither it nor its imports (about 3 s here): each row
walked down each tree by a loop compiled by numba, or, where a split has a missing-value rule
or a row holds NaN, numpy over all nodes at once.

Only what a model fitted on numeric features holds is read: numerical splits with LightGBM's
missing-value rules (none, zero, NaN), one output. A model with categorical splits, linear
leaves or several classes is refused with a message. The score of a row is the sum of the
leaf values it reaches, as `lightgbm.Booster.predict(..., raw_score=True)` gives it
(tests/rag/test_trees.py checks the two agree).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.compiled import compiled

logger = logging.getLogger(__name__)

_ZERO = 1e-35  # LightGBM's kZeroThreshold: |value| at most this is "zero" for a zero-missing split
_DEFAULT_LEFT = 2  # decision_type bit: missing values go left
_MISSING_SHIFT = 2  # decision_type bits 2-3: 0 none, 1 zero, 2 NaN
_MISSING_ZERO, _MISSING_NAN = 1, 2
_MAX_LEAVES = 64  # one bit per leaf in a uint64


@dataclass(frozen=True, slots=True)
class TreeEnsemble:
    """The inner nodes of all trees side by side, with each node's children (`left_child`,
    `right_child`) for the compiled walk down each tree (`exit_leaves`), and, for splits with
    missing-value rules or rows with NaN, what the QuickScorer way needs: each node whose test
    sends a row right rules out the leaves of its left subtree (a bit mask over its tree's
    leaves, numbered left to right), and the leftmost leaf not ruled out is where the row
    exits, one pass over all nodes for all rows."""

    feature: np.ndarray  # (nodes,) int64: the feature each inner node splits on
    threshold: np.ndarray  # (nodes,) float64: go left when value <= threshold
    default_left: np.ndarray  # (nodes,) bool: where a missing value goes
    missing: np.ndarray  # (nodes,) int8: 0 none, 1 zero, 2 NaN
    keep_if_right: np.ndarray  # (nodes,) uint64: the tree's leaves still possible after going right
    first_node: np.ndarray  # (split trees,) int64: where each tree with a split starts in the node arrays
    leaf_value: np.ndarray  # (split trees, 64) float64: leaf values, left to right
    constant: float  # the sum of the trees that are one leaf
    n_features: int
    # (nodes,) int64 each: where a row goes from each inner node, left and right: another inner
    # node (its index in these arrays) or, below 0, leaf ~child (numbered left to right)
    left_child: np.ndarray
    right_child: np.ndarray

    @classmethod
    def from_text(cls, text: str) -> TreeEnsemble:
        """Parse a model written by `lightgbm.Booster.save_model` (or `model_to_string`)."""
        header, blocks = _blocks(text)
        if header.get("num_class", "1") != "1" or header.get("num_tree_per_iteration", "1") != "1":
            raise ValueError("tree model: only one-output models are supported (num_class=1)")
        if "max_feature_idx" not in header or not blocks:
            raise ValueError("tree model: not a LightGBM text model (no max_feature_idx or no Tree= blocks)")
        n_features = int(header["max_feature_idx"]) + 1
        feature: list[int] = []
        threshold: list[float] = []
        decision: list[int] = []
        keep: list[int] = []
        first: list[int] = []
        children: list[int] = []  # left then right child of each inner node, as `left_child` holds them
        values: list[list[float]] = []
        constant = 0.0
        for block in blocks:
            t = _tree(block)
            if not t.split_feature:
                constant += t.leaf_value[0]
                continue
            if len(t.leaf_value) > _MAX_LEAVES:
                raise ValueError(
                    f"tree model: trees of at most {_MAX_LEAVES} leaves are supported; fit with num_leaves <= {_MAX_LEAVES}"
                )
            order, below_left = _left_to_right(t.left_child, t.right_child)
            base, position = len(feature), {leaf: k for k, leaf in enumerate(order)}
            for pair in zip(t.left_child, t.right_child, strict=True):
                children += [base + c if c >= 0 else ~position[~c] for c in pair]
            first.append(len(feature))
            feature += t.split_feature
            threshold += t.threshold
            decision += t.decision_type
            everything = (1 << _MAX_LEAVES) - 1
            keep += [everything & ~mask for mask in below_left]
            values.append([t.leaf_value[leaf] for leaf in order])
        if any(f < 0 or f >= n_features for f in feature):
            raise ValueError("tree model: a split names a feature the model does not have")
        leaf_value = np.zeros((len(values), _MAX_LEAVES), np.float64)
        for k, v in enumerate(values):
            leaf_value[k, : len(v)] = v
        codes = np.array(decision, np.int64)
        return cls(
            feature=np.array(feature, np.int64),
            threshold=np.array(threshold, np.float64),
            default_left=(codes & _DEFAULT_LEFT) > 0,
            missing=((codes >> _MISSING_SHIFT) & 3).astype(np.int8),
            keep_if_right=np.array(keep, np.uint64),
            first_node=np.array(first, np.int64),
            leaf_value=leaf_value,
            constant=constant,
            n_features=n_features,
            left_child=np.array(children[0::2], np.int64),
            right_child=np.array(children[1::2], np.int64),
        )

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The raw score of each row of `x` (rows, n_features): the sum over trees of the leaf
        value each row reaches."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"tree model: expected rows of {self.n_features} features, got shape {x.shape}")
        out = np.full(len(x), self.constant, dtype=np.float64)
        if not len(self.first_node) or not len(x):
            return out
        exit_leaf = self.exit_leaves(x)
        out += self.leaf_value[np.arange(len(self.first_node))[None, :], exit_leaf].sum(axis=1)
        return out

    def exit_leaves(self, x: np.ndarray, *, compiled: bool = True) -> np.ndarray:
        """(rows, split trees) int64: the leaf (numbered left to right) each row of `x`
        (float64, rows of n_features) exits each tree at. Splits without a missing-value rule
        on rows without NaN are walked down, root to leaf, by a loop compiled by numba
        (`_exits`); others, or `compiled=False`, evaluated with numpy over all nodes at once.
        Both give the same leaves."""
        if compiled and not (self.missing != 0).any() and not np.isnan(x).any():
            return _compiled_exits()(  # type: ignore[no-any-return]
                np.ascontiguousarray(x),
                self.feature,
                self.threshold,
                self.left_child,
                self.right_child,
                self.first_node,
            )
        value = x[:, self.feature]  # (rows, nodes)
        if (self.missing != 0).any() or np.isnan(value).any():
            go_left = _decide(value, self.threshold, self.missing, self.default_left)
        else:
            go_left = value <= self.threshold
        masks = np.where(go_left, np.uint64(~np.uint64(0)), self.keep_if_right)
        alive = np.bitwise_and.reduceat(masks, self.first_node, axis=1)  # (rows, split trees)
        lowest = alive & (~alive + np.uint64(1))  # the leftmost leaf still possible
        return np.log2(lowest.astype(np.float64)).astype(np.int64)  # exact for powers of two


def warm_up() -> None:
    """Load (or compile) the compiled walk by using it once: a server does it before it says
    it is ready, so the first question is not slow."""
    one = np.zeros(1, dtype=np.int64)
    _compiled_exits()(np.zeros((1, 1)), np.zeros(1, np.int64), np.zeros(1), ~one, ~one, np.zeros(1, np.int64))


@functools.cache
def _compiled_exits() -> Any:
    """`_exits` compiled by numba on first use (rag.compiled: about a second once, its machine
    code cached)."""
    return compiled(_exits, "the tree model's", logger)


def _exits(
    x: np.ndarray,
    feature: np.ndarray,
    threshold: np.ndarray,
    left_child: np.ndarray,
    right_child: np.ndarray,
    first_node: np.ndarray,
) -> np.ndarray:
    """`TreeEnsemble.exit_leaves` for splits without missing-value rules: each row walked down
    each tree from its root (left when the value is at most the threshold) to its leaf."""
    rows, trees = x.shape[0], first_node.shape[0]
    out = np.empty((rows, trees), dtype=np.int64)
    for r in range(rows):
        for t in range(trees):
            node = first_node[t]
            while True:
                child = left_child[node] if x[r, feature[node]] <= threshold[node] else right_child[node]
                if child < 0:
                    out[r, t] = ~child
                    break
                node = child
    return out


def _decide(
    value: np.ndarray, threshold: np.ndarray, missing: np.ndarray, default_left: np.ndarray
) -> np.ndarray:
    """LightGBM's NumericalDecision: NaN is 0 unless the split treats NaN as missing; a missing
    value (zero or NaN, as the split says) goes where the split sends missing values; any
    other goes left when at most the threshold."""
    nan = np.isnan(value)
    value = np.where(nan & (missing != _MISSING_NAN), 0.0, value)
    go_left = value <= threshold
    is_missing = ((missing == _MISSING_ZERO) & (value > -_ZERO) & (value <= _ZERO)) | (
        (missing == _MISSING_NAN) & nan
    )
    return np.where(is_missing, default_left, go_left)


def _blocks(text: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The header's key=value lines and one dict per Tree= block, up to 'end of trees'."""
    header: dict[str, str] = {}
    blocks: list[dict[str, str]] = []
    current = header
    for line in text.splitlines():
        line = line.strip()
        if line == "end of trees":
            break
        if line.startswith("Tree="):
            current = {}
            blocks.append(current)
            continue
        key, eq, value = line.partition("=")
        if eq:
            current[key] = value
    return header, blocks


@dataclass(frozen=True, slots=True)
class _Tree:
    """One Tree= block: inner nodes in LightGBM's order; a child below 0 is leaf ~child."""

    split_feature: list[int]
    threshold: list[float]
    decision_type: list[int]
    left_child: list[int]
    right_child: list[int]
    leaf_value: list[float]


def _tree(block: dict[str, str]) -> _Tree:
    if block.get("num_cat", "0") != "0":
        raise ValueError("tree model: categorical splits are not supported; fit on numeric features")
    if block.get("is_linear", "0") != "0":
        raise ValueError("tree model: linear leaves are not supported; fit with linear_tree=false")
    try:
        n_leaves = int(block["num_leaves"])
        inner = n_leaves > 1

        def ints(key: str) -> list[int]:
            return [int(v) for v in block[key].split()] if inner else []

        tree = _Tree(
            split_feature=ints("split_feature"),
            threshold=[float(v) for v in block["threshold"].split()] if inner else [],
            decision_type=ints("decision_type"),
            left_child=ints("left_child"),
            right_child=ints("right_child"),
            leaf_value=[float(v) for v in block["leaf_value"].split()],
        )
    except (KeyError, ValueError) as e:
        raise ValueError(f"tree model: a tree lacks or garbles {e}; the file is damaged") from None
    sizes = {len(tree.split_feature), len(tree.threshold), len(tree.decision_type), len(tree.left_child)}
    if len(tree.leaf_value) != n_leaves or sizes | {len(tree.right_child)} != {n_leaves - 1}:
        raise ValueError("tree model: a tree's arrays do not match its num_leaves; the file is damaged")
    return tree


def _left_to_right(left: list[int], right: list[int]) -> tuple[list[int], list[int]]:
    """The tree's leaves in left-to-right order, and per inner node the bit mask (over those
    positions) of the leaves under its left child. A child below 0 is leaf ~child."""
    order: list[int] = []
    left_span: dict[int, tuple[int, int]] = {}  # inner node -> [first, last) positions under its left child

    def walk(child: int) -> tuple[int, int]:
        if child < 0:
            order.append(~child)
            return len(order) - 1, len(order)
        a, mid = walk(left[child])
        left_span[child] = (a, mid)
        _, b = walk(right[child])
        return a, b

    try:
        walk(0)
    except (RecursionError, IndexError):
        raise ValueError("tree model: a tree's children do not form one tree; the file is damaged") from None
    if sorted(order) != list(range(len(left) + 1)) or len(left_span) != len(left):
        raise ValueError("tree model: a tree's children do not form one tree; the file is damaged")
    masks = [((1 << (b - a)) - 1) << a for a, b in (left_span[node] for node in range(len(left)))]
    return order, masks
