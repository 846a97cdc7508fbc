"""Reading a LightGBM model for :mod:`kamrisk._explain._fastshap`: the trees of ``booster.dump_model()``.

Each tree becomes a :class:`Tree`: internal nodes numbered in preorder (a parent before its children,
a subtree's nodes contiguous), leaves numbered in the order met, and for every node the *players* of
the path from the root to it: its distinct split features in order of first appearance. A feature keeps
its position (its player bit) on every path through a node, which is what lets the kernel push one mask
of failed players per row down the tree. Each leaf keeps its players' zero fractions (product of the
cover ratios ``child_count / parent_count`` of the feature's conditions on the path, the counts
LightGBM's own TreeSHAP uses) and each tree its expected value as LightGBM computes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Tree", "UnsupportedModel", "read_trees", "model_string_thresholds", "MISSING_NONE", "MISSING_ZERO",
           "MISSING_NAN", "CATEGORICAL", "MAX_PLAYER_BITS"]

MISSING_NONE, MISSING_ZERO, MISSING_NAN, CATEGORICAL = 0, 1, 2, 3
_MISSING = {"None": MISSING_NONE, "Zero": MISSING_ZERO, "NaN": MISSING_NAN}
MAX_PLAYER_BITS = 62  # masks are int64 in the kernel


class UnsupportedModel(Exception):
    """The model has a construct the fast path does not reproduce exactly; the message says which."""


@dataclass
class Tree:
    """One tree; internal nodes in preorder, children as ``j >= 0`` (internal) or ``~leaf`` (leaf)."""

    expected_value: float
    feature: list[int] = field(default_factory=list)
    kind: list[int] = field(default_factory=list)
    threshold: list[float] = field(default_factory=list)
    default_left: list[int] = field(default_factory=list)
    categories: list[np.ndarray] = field(default_factory=list)  # uint32 bitset words (empty if numerical)
    nan_zero: list[int] = field(default_factory=list)
    left: list[int] = field(default_factory=list)
    right: list[int] = field(default_factory=list)
    players: list[list[int]] = field(default_factory=list)  # per internal node: players before it
    bit: list[int] = field(default_factory=list)  # per internal node: its feature's player bit
    leaf_value: list[float] = field(default_factory=list)
    leaf_players: list[list[int]] = field(default_factory=list)
    leaf_zeros: list[list[float]] = field(default_factory=list)
    leaf_path: list[list[tuple[int, int]]] = field(default_factory=list)  # (internal node, 1 if left)

    @property
    def n_nodes(self) -> int:
        return len(self.feature)


def _categories_bitset(threshold: Any) -> np.ndarray:
    cats = [int(c) for c in str(threshold).split("||") if c != ""]
    if not cats:
        return np.zeros(1, dtype=np.uint32)
    if min(cats) < 0:
        raise UnsupportedModel(f"negative category {min(cats)} in a categorical split")
    words = np.zeros(max(cats) // 32 + 1, dtype=np.uint32)
    for c in cats:
        words[c // 32] |= np.uint32(1) << np.uint32(c % 32)
    return words


def _count(node: dict[str, Any]) -> float:
    key = "internal_count" if "split_index" in node else "leaf_count"
    if key not in node:
        raise UnsupportedModel(f"a tree node has no {key} (cover), which TreeSHAP needs")
    return float(node[key])


def _exact_threshold(dumped: float, exact: list[float] | None, split_index: int) -> float:
    """The JSON dump writes thresholds beyond +-1e300 as +-1e300 (``AvoidInf``); the model string has them."""
    if exact is None or abs(dumped) < 1e300:
        return dumped
    if not 0 <= split_index < len(exact) or not abs(exact[split_index]) >= 1e300:
        raise UnsupportedModel("the model string and the dump disagree on a threshold")
    return exact[split_index]


def model_string_thresholds(text: str) -> list[list[float]]:
    """Per tree, the ``threshold=`` line of ``booster.model_to_string()`` (exact, ``inf`` included)."""
    out = []
    for block in text.split("\nTree=")[1:]:
        line = next((x for x in block.split("\n", 12) if x.startswith("threshold=")), "threshold=")
        out.append([float(v) for v in line[len("threshold="):].split()])
    return out


def _read_tree(root: dict[str, Any], n_features: int, nan_category_zero: bool,
               exact_thresholds: list[float] | None = None) -> Tree:
    if "split_index" not in root:  # one leaf: only its value, in the base value
        if "leaf_coeff" in root or "leaf_const" in root:
            raise UnsupportedModel("linear trees (linear_tree=True) are not supported")
        return Tree(expected_value=float(root["leaf_value"]))
    tree = Tree(expected_value=0.0)
    leaf_index: list[int] = []
    # entries: node, parent internal index and side (or -1), players before it, their zeros, path
    stack: list[tuple[dict[str, Any], int, int, list[int], list[float], list[tuple[int, int]]]] = [
        (root, -1, 0, [], [], [])]
    while stack:
        node, parent, is_left, players, zeros, path = stack.pop()
        if "split_index" not in node:
            if "leaf_coeff" in node or "leaf_const" in node:
                raise UnsupportedModel("linear trees (linear_tree=True) are not supported")
            ref = ~len(tree.leaf_value)
            tree.leaf_value.append(float(node["leaf_value"]))
            tree.leaf_players.append(players)
            tree.leaf_zeros.append(zeros)
            tree.leaf_path.append(path)
            leaf_index.append(int(node.get("leaf_index", len(leaf_index))))
        else:
            ref = tree.n_nodes
            f = int(node["split_feature"])
            if not 0 <= f < n_features:
                raise UnsupportedModel(f"split on feature {f} outside 0..{n_features - 1}")
            bit = players.index(f) if f in players else len(players)
            if bit > MAX_PLAYER_BITS:
                raise UnsupportedModel(f"a path with more than {MAX_PLAYER_BITS} distinct features")
            decision = node.get("decision_type")
            missing = node.get("missing_type")
            if missing not in _MISSING:
                raise UnsupportedModel(f"unknown missing_type {missing!r}")
            if decision == "<=":
                tree.kind.append(_MISSING[missing])
                tree.threshold.append(_exact_threshold(float(node["threshold"]), exact_thresholds,
                                                       int(node["split_index"])))
                tree.categories.append(np.zeros(0, dtype=np.uint32))
            elif decision == "==":
                tree.kind.append(CATEGORICAL)
                tree.threshold.append(0.0)
                tree.categories.append(_categories_bitset(node["threshold"]))
            else:
                raise UnsupportedModel(f"unknown decision_type {decision!r}")
            tree.nan_zero.append(1 if decision == "==" and nan_category_zero and missing != "NaN" else 0)
            tree.feature.append(f)
            tree.default_left.append(1 if node.get("default_left") else 0)
            tree.players.append(players)
            tree.bit.append(bit)
            tree.left.append(0)
            tree.right.append(0)
            parent_count = _count(node)
            children = []
            for side, child_is_left in (("left_child", 1), ("right_child", 0)):
                child = node[side]
                ratio = _count(child) / parent_count
                if bit < len(players):  # the feature is already a player: conjunction of its conditions
                    child_players, child_zeros = players, list(zeros)
                    child_zeros[bit] = zeros[bit] * ratio
                else:
                    child_players, child_zeros = [*players, f], [*zeros, ratio]
                children.append((child, ref, child_is_left, child_players, child_zeros, [*path, (ref, child_is_left)]))
            stack.extend(reversed(children))  # left subtree first: preorder
        if parent >= 0:
            (tree.left if is_left else tree.right)[parent] = ref
    # LightGBM's ExpectedValue: leaves in leaf-index order, (leaf_count / root count) * value
    counts = {}
    stack2 = [root]
    while stack2:
        node = stack2.pop()
        if "split_index" in node:
            stack2.extend((node["left_child"], node["right_child"]))
        else:
            counts[int(node.get("leaf_index", 0))] = (_count(node), float(node["leaf_value"]))
    total = _count(root)
    ev = 0.0
    for i in sorted(counts):
        ev += (counts[i][0] / total) * counts[i][1]
    tree.expected_value = ev
    return tree


def read_trees(dump: dict[str, Any], nan_category_zero: bool = False,
               thresholds: list[list[float]] | None = None) -> tuple[int, list[Tree]]:
    """``(n_features, trees)`` of ``booster.dump_model()``.

    ``thresholds``: :func:`model_string_thresholds` of the same model, for the thresholds the dump clamps
    (a split of NaN against everything else has threshold ``inf``: ``inf`` goes left, the dump says 1e300).

    ``nan_category_zero``: LightGBM's categorical decision casts the value to int before testing NaN;
    where that cast gives 0 for NaN (ARM) rather than INT_MIN (x86-64), NaN is read as category 0 unless
    the split's missing type is NaN. Raises :class:`UnsupportedModel` for what the kernel does not
    reproduce exactly (multiclass, random-forest averaging, linear trees, unknown split kinds).
    """
    if int(dump.get("num_tree_per_iteration", 1)) != 1 or int(dump.get("num_class", 1)) != 1:
        raise UnsupportedModel(f"{dump.get('num_class')} classes / {dump.get('num_tree_per_iteration')} trees "
                               "per iteration (multiclass): only single-output models are supported")
    if dump.get("average_output"):
        raise UnsupportedModel("average_output (random forest mode) is not supported")
    n_features = int(dump["max_feature_idx"]) + 1
    trees = []
    if thresholds is not None and len(thresholds) != len(dump["tree_info"]):
        raise UnsupportedModel("the model string and the dump have different numbers of trees")
    for i, info in enumerate(dump["tree_info"]):
        trees.append(_read_tree(info["tree_structure"], n_features, nan_category_zero,
                                None if thresholds is None else thresholds[i]))
    return n_features, trees
