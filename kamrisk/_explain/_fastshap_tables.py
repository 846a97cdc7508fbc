"""TreeSHAP tables for :mod:`kamrisk._explain._fastshap`: the math, and the flat arrays the kernel reads.

**A leaf's table.** For a leaf with value ``v`` and ``d`` players with zero fractions ``z``, path-dependent
TreeSHAP gives player ``k`` the contribution

    v * (o_k - z_k) * prod_{j not in q, j != k} z_j * sum_{S subset of q} w(|S|) prod_{j in q \\ S} z_j

where ``o`` are the one fractions (1 when the row satisfies all the player's conditions on the path, else
0), ``q`` the players other than ``k`` with ``o_j = 1`` and ``w(s) = s! (d - s - 1)! / d!``. The sum,
``G[q] = sum_m w(m) e_{|q| - m}(z_q)`` over the elementary symmetric polynomials of the zero fractions in
``q``, depends on ``q`` alone, so a *full* table ``T[pattern, k]`` over the ``2**d`` patterns of ``o`` is
a few vectorised numpy operations per batch of leaves with the same ``d`` (:func:`leaf_tables`); a
*compact* table keeps only ``v * G`` (``2**d`` floats) and leaves the zero products to the kernel.

**Groups.** The kernel looks up one table row per *group* and row. A group is a single leaf, or a whole
subtree whose index stays small: the failed-player mask of the path to the subtree's root (``d_n`` bits)
followed by the decisions of its ``s`` internal nodes (``d_n + s <= max_depth_table`` bits). Its table
is the sum of its leaves' full tables, each read at the pattern the index implies, over the union of
their players, so a subtree of a few leaves costs one look-up instead of one per leaf. Single leaves are
indexed by their failed-player mask too (the full table reversed); leaves with more players than
``max_depth_table`` get a compact table, and more than ``max_depth_compact`` none: they are computed
directly, TreeSHAP's EXTEND / UNWIND on the leaf's path (O(d**2) per row).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._fastshap_build import Tree

__all__ = ["Model", "compile_model", "leaf_tables", "subset_weights", "GROUP_FULL", "GROUP_COMPACT",
           "GROUP_DIRECT", "MAX_DEPTH_TABLE", "MAX_DEPTH_COMPACT"]

GROUP_FULL, GROUP_COMPACT, GROUP_DIRECT = 0, 1, 2
MAX_DEPTH_TABLE = 12  # index bits of a full table (2**bits rows of its players' contributions)
MAX_DEPTH_COMPACT = 16  # players of a compact table (2**d floats: 512 KiB at 16)
_TREES_PER_CHUNK = 32  # trees whose leaf tables are built together (bounds the build's memory)


@dataclass
class Model:
    """Flat arrays of a single-output tree ensemble, as the kernel reads them."""

    n_features: int
    expected_values: np.ndarray  # float64 (n_trees,)
    tree_node_start: np.ndarray  # int64 (n_trees,)
    tree_n_nodes: np.ndarray  # int64 internal nodes; 0 for a one-leaf tree
    tree_group_start: np.ndarray  # int64
    tree_n_groups: np.ndarray  # int64
    node_feature: np.ndarray  # int64
    node_kind: np.ndarray  # int64: MISSING_NONE / MISSING_ZERO / MISSING_NAN / CATEGORICAL
    node_threshold: np.ndarray  # float64
    node_default_left: np.ndarray  # int64 0/1
    node_cat_start: np.ndarray  # int64 offset into cat_bits
    node_cat_len: np.ndarray  # int64 words
    node_nan_zero: np.ndarray  # int64 0/1: categorical split reads NaN as category 0
    node_left: np.ndarray  # int64 mask slot of the left child: internal j -> j, leaf i -> n_nodes + i
    node_right: np.ndarray  # int64
    node_bit: np.ndarray  # int64 shift of the node's failure bit: player bit, or position in its group index
    node_target: np.ndarray  # int64 -1: path node (masks to its children); else the slot of its group root
    cat_bits: np.ndarray  # uint32
    group_slot: np.ndarray  # int64 mask slot holding the group's index
    group_mode: np.ndarray  # int64 GROUP_FULL / GROUP_COMPACT / GROUP_DIRECT
    group_bits: np.ndarray  # int64 index bits (full), players (compact, direct)
    group_width: np.ndarray  # int64 columns (players)
    group_col_start: np.ndarray  # int64 offset into group_feature / group_zero
    group_value: np.ndarray  # float64 leaf value (compact, direct)
    group_table: np.ndarray  # int64 offset into tables (-1 for direct)
    group_feature: np.ndarray  # int64 feature of each column
    group_zero: np.ndarray  # float64 zero fraction of each column (compact, direct)
    tables: np.ndarray  # float64

    @property
    def base_value(self) -> float:
        total = 0.0
        for value in self.expected_values:  # tree order, like LightGBM's PredictContrib
            total += float(value)
        return total

    @property
    def max_nodes(self) -> int:
        return int(self.tree_n_nodes.max()) if len(self.tree_n_nodes) else 0

    @property
    def max_width(self) -> int:
        return int(self.group_width.max()) if len(self.group_width) else 0


def _shapley_weights(d: int) -> np.ndarray:
    """``w[s] = s! (d - s - 1)! / d!`` for ``s = 0 .. d - 1``."""
    return np.array([math.factorial(s) * math.factorial(d - s - 1) / math.factorial(d) for s in range(d)])


def subset_weights(zeros: np.ndarray) -> np.ndarray:
    """``G[l, q] = sum_{S subset of q} w(|S|) prod_{j in q \\\\ S} z_j`` for every subset ``q`` of the players.

    ``zeros`` is ``(m, d)``; the result ``(m, 2**d)`` (entries with ``|q| = d`` are 0, never used). Built
    player by player: the subsets with bit ``j`` are ``2**j .. 2**(j+1) - 1``, those without it extended.
    """
    m, d = zeros.shape
    esp = np.zeros((m, 1, d + 1))  # elementary symmetric polynomials of z over q, by degree
    esp[:, :, 0] = 1.0
    size = np.zeros(1, dtype=np.int64)  # |q|
    for j in range(d):
        with_j = esp.copy()
        with_j[:, :, 1:] += zeros[:, j, None, None] * esp[:, :, :-1]
        esp = np.concatenate([esp, with_j], axis=1)
        size = np.concatenate([size, size + 1])
    s = size[:, None] - np.arange(d + 1)[None, :]  # |S| of the term that uses e_k
    weights = np.where((s >= 0) & (s <= d - 1), _shapley_weights(d)[np.clip(s, 0, d - 1)], 0.0)  # (P, d + 1)
    return np.einsum("mpk,pk->mp", esp, weights)


def leaf_tables(zeros: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Full tables ``(m, 2**d, d)``: the contribution to player ``k`` for each pattern of one fractions."""
    m, d = zeros.shape
    patterns = np.arange(1 << d)
    player_bits = np.left_shift(1, np.arange(d))
    bits = (patterns[:, None] & player_bits[None, :]) != 0  # (P, d): player k's conditions hold
    zero_prod = np.ones((m, 1))  # product of the zero fractions of the players whose conditions fail
    for j in range(d):
        zero_prod = np.concatenate([zero_prod * zeros[:, j, None], zero_prod], axis=1)
    g = subset_weights(zeros)
    with_k = patterns[:, None] | player_bits[None, :]
    without_k = patterns[:, None] & ~player_bits[None, :]
    return values[:, None, None] * (bits[None, :, :] - zeros[:, None, :]) * zero_prod[:, with_k] * g[:, without_k]


@dataclass
class _Group:
    """One look-up of the kernel: a single leaf, or a subtree (``root``) summed over its ``leaves``."""

    slot: int
    mode: int
    bits: int
    features: list[int]
    size: int  # floats in its table
    leaf: int = -1
    root: int = -1
    leaves: list[int] = field(default_factory=list)
    offset: int = -1


def _group_roots(tree: Tree, full_max: int) -> tuple[list[int], list[int], list[int]]:
    """Topmost subtrees whose index (path players + internal nodes) fits ``full_max`` bits.

    Returns the roots, each node's root (-1 outside groups) and each node's subtree size (internal nodes;
    in preorder the subtree of ``j`` is ``j .. j + size - 1``).
    """
    nn = tree.n_nodes
    size = [1] * nn
    for j in range(nn - 1, -1, -1):
        for child in (tree.left[j], tree.right[j]):
            if child >= 0:
                size[j] += size[child]
    group_of = [-1] * nn
    roots = []
    for j in range(nn):
        if group_of[j] < 0 and len(tree.players[j]) + size[j] <= full_max:
            roots.append(j)
            group_of[j:j + size[j]] = [j] * size[j]
    return roots, group_of, size


def _plan(tree: Tree, full_max: int, compact_max: int) -> tuple[list[int], list[_Group]]:
    """Each node's group root (-1: a path node) and the tree's groups."""
    nn = tree.n_nodes
    roots, group_of, size = _group_roots(tree, full_max)
    groups = []
    by_root = {}
    for root in roots:
        features = list(tree.players[root])
        for j in range(root, root + size[root]):
            if tree.feature[j] not in features:
                features.append(tree.feature[j])
        bits = len(tree.players[root]) + size[root]
        by_root[root] = _Group(root, GROUP_FULL, bits, features, (1 << bits) * len(features), root=root)
        groups.append(by_root[root])
    for leaf, path in enumerate(tree.leaf_path):
        root = next((group_of[j] for j, _ in path if group_of[j] >= 0), -1)
        if root >= 0:
            by_root[root].leaves.append(leaf)
            continue
        players = tree.leaf_players[leaf]
        d = len(players)
        if d <= full_max:
            groups.append(_Group(nn + leaf, GROUP_FULL, d, players, (1 << d) * d, leaf=leaf))
        elif d <= compact_max:
            groups.append(_Group(nn + leaf, GROUP_COMPACT, d, players, 1 << d, leaf=leaf))
        else:
            groups.append(_Group(nn + leaf, GROUP_DIRECT, d, players, 0, leaf=leaf))
    return group_of, groups


def _subtree_table(tree: Tree, group: _Group, full: dict[int, np.ndarray], out: np.ndarray) -> None:
    """Sum of the group's leaves' full tables, each read at the pattern the index implies."""
    root = group.root
    d_root = len(tree.players[root])
    column = {f: c for c, f in enumerate(group.features)}
    index = np.arange(1 << group.bits)
    path_fail = index & ((1 << d_root) - 1)  # failed players of the path to the root
    by_column = np.zeros((len(group.features), len(index)))
    for leaf in group.leaves:
        fail = path_fail.copy()
        for j, is_left in tree.leaf_path[leaf]:
            if j >= root:  # decision bits of the subtree's nodes
                fail |= (((index >> (d_root + j - root)) & 1) ^ is_left) << tree.bit[j]
        players = tree.leaf_players[leaf]
        pattern = ((1 << len(players)) - 1) & ~fail
        by_column[[column[f] for f in players]] += full[leaf][pattern].T
    out[:] = by_column.T


def compile_model(n_features: int, trees: list[Tree], max_depth_table: int = MAX_DEPTH_TABLE,
                  max_depth_compact: int = MAX_DEPTH_COMPACT) -> Model:
    """Flat arrays and tables of ``trees`` (see the module docstring).

    Full tables have at most ``max_depth_table`` index bits; leaves with more players get a compact table
    up to ``max_depth_compact`` players, and are computed directly beyond.
    """
    full_max = max(0, max_depth_table)
    plans = [_plan(tree, full_max, max_depth_compact) if tree.n_nodes else ([], []) for tree in trees]
    total = 0
    for _, groups in plans:
        for g in groups:
            if g.size:
                g.offset = total
                total += g.size
    tables = np.empty(total)
    nodes: dict[str, list[Any]] = {k: [] for k in (
        "feature", "kind", "threshold", "default_left", "cat_start", "cat_len", "nan_zero", "left", "right", "bit",
        "target")}
    cols: dict[str, list[Any]] = {"feature": [], "zero": []}
    grp: dict[str, list[Any]] = {k: [] for k in ("slot", "mode", "bits", "width", "col_start", "value", "table")}
    per_tree: dict[str, list[int]] = {k: [] for k in ("node_start", "n_nodes", "group_start", "n_groups")}
    cat_words: list[np.ndarray] = []
    n_cat = 0
    for tree, (group_of, groups) in zip(trees, plans, strict=True):
        nn = tree.n_nodes
        per_tree["node_start"].append(len(nodes["feature"]))
        per_tree["n_nodes"].append(nn)
        per_tree["group_start"].append(len(grp["slot"]))
        per_tree["n_groups"].append(len(groups))
        for j in range(nn):
            root = group_of[j]
            words = tree.categories[j]
            for key, value in (("feature", tree.feature[j]), ("kind", tree.kind[j]), ("threshold", tree.threshold[j]),
                               ("default_left", tree.default_left[j]), ("cat_start", n_cat), ("cat_len", len(words)),
                               ("nan_zero", tree.nan_zero[j]),
                               ("left", tree.left[j] if tree.left[j] >= 0 else nn + ~tree.left[j]),
                               ("right", tree.right[j] if tree.right[j] >= 0 else nn + ~tree.right[j]),
                               ("bit", len(tree.players[root]) + j - root if root >= 0 else tree.bit[j]),
                               ("target", root)):
                nodes[key].append(value)
            if len(words):
                cat_words.append(words)
                n_cat += len(words)
        for g in groups:
            single = g.leaf >= 0
            for key, value in (("slot", g.slot), ("mode", g.mode), ("bits", g.bits), ("width", len(g.features)),
                               ("col_start", len(cols["feature"])), ("table", g.offset),
                               ("value", tree.leaf_value[g.leaf] if single else 0.0)):
                grp[key].append(value)
            cols["feature"].extend(g.features)
            cols["zero"].extend(tree.leaf_zeros[g.leaf] if single else [0.0] * len(g.features))
    for start in range(0, len(trees), _TREES_PER_CHUNK):
        _fill_tables(trees, plans, range(start, min(len(trees), start + _TREES_PER_CHUNK)), tables)

    def i64(values: list[Any]) -> np.ndarray:
        return np.asarray(values, dtype=np.int64)

    return Model(
        n_features=n_features,
        expected_values=np.asarray([tree.expected_value for tree in trees], dtype=np.float64),
        tree_node_start=i64(per_tree["node_start"]), tree_n_nodes=i64(per_tree["n_nodes"]),
        tree_group_start=i64(per_tree["group_start"]), tree_n_groups=i64(per_tree["n_groups"]),
        node_feature=i64(nodes["feature"]), node_kind=i64(nodes["kind"]),
        node_threshold=np.asarray(nodes["threshold"], dtype=np.float64), node_default_left=i64(nodes["default_left"]),
        node_cat_start=i64(nodes["cat_start"]), node_cat_len=i64(nodes["cat_len"]),
        node_nan_zero=i64(nodes["nan_zero"]), node_left=i64(nodes["left"]), node_right=i64(nodes["right"]),
        node_bit=i64(nodes["bit"]), node_target=i64(nodes["target"]),
        cat_bits=np.concatenate(cat_words) if cat_words else np.zeros(1, dtype=np.uint32),
        group_slot=i64(grp["slot"]), group_mode=i64(grp["mode"]), group_bits=i64(grp["bits"]),
        group_width=i64(grp["width"]), group_col_start=i64(grp["col_start"]),
        group_value=np.asarray(grp["value"], dtype=np.float64), group_table=i64(grp["table"]),
        group_feature=i64(cols["feature"]), group_zero=np.asarray(cols["zero"], dtype=np.float64),
        tables=tables,
    )


def _fill_tables(trees: list[Tree], plans: list[tuple[list[int], list[_Group]]], chunk: range,
                 tables: np.ndarray) -> None:
    """Write the tables of the groups of the trees in ``chunk``; leaf tables are built in batches of equal d."""
    full_leaves: dict[int, list[tuple[int, int]]] = {}  # d -> (tree, leaf) needing a full table
    compact: dict[int, list[tuple[int, _Group]]] = {}  # d -> (tree, group)
    for t in chunk:
        for g in plans[t][1]:
            if g.mode == GROUP_COMPACT:
                compact.setdefault(g.bits, []).append((t, g))
            elif g.mode == GROUP_FULL:
                for leaf in g.leaves if g.root >= 0 else [g.leaf]:
                    full_leaves.setdefault(len(trees[t].leaf_players[leaf]), []).append((t, leaf))
    full: dict[int, dict[int, np.ndarray]] = {t: {} for t in chunk}
    for d, keys in full_leaves.items():
        zeros = np.array([trees[t].leaf_zeros[leaf] for t, leaf in keys], dtype=np.float64).reshape(len(keys), d)
        values = np.array([trees[t].leaf_value[leaf] for t, leaf in keys], dtype=np.float64)
        for (t, leaf), table in zip(keys, leaf_tables(zeros, values), strict=True):
            full[t][leaf] = table
    for d, items in compact.items():
        zeros = np.array([trees[t].leaf_zeros[g.leaf] for t, g in items], dtype=np.float64).reshape(len(items), d)
        values = np.array([trees[t].leaf_value[g.leaf] for t, g in items], dtype=np.float64)
        for (_, g), table in zip(items, values[:, None] * subset_weights(zeros), strict=True):
            tables[g.offset:g.offset + g.size] = table
    for t in chunk:
        for g in plans[t][1]:
            if g.mode != GROUP_FULL:
                continue
            out = tables[g.offset:g.offset + g.size].reshape(1 << g.bits, len(g.features))
            if g.leaf >= 0:  # indexed by the failed-player mask: the pattern table reversed
                out[:] = full[t][g.leaf][::-1]
            else:
                _subtree_table(trees[t], g, full[t], out)
