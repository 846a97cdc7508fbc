"""numba kernel of :mod:`kamrisk._explain._fastshap`: tree decisions as LightGBM makes them, then table look-ups.

Rows are processed in blocks (the blocks are spread over the cores with ``prange``). Within a block, tree
by tree: every split condition is evaluated once per row; a *path node* pushes down to its children the
mask of the players (distinct path features) whose conditions fail, a node inside a tabulated subtree
sets its decision bit in the subtree's index instead. Then each group (a leaf, or a subtree sharing one
table) adds its contributions into a per-block accumulator laid out column by row, so that the inner
loops run over contiguous rows:

* full table: the index (failed-player mask, then the subtree's decision bits) selects one table row;
* compact table (leaves with more players): ``(o_k - z_k) * prod_{j != k, o_j = 0} z_j * vG[pattern - k]``;
* direct (more still): TreeSHAP's EXTEND over the leaf's players, then UNWOUND sums, one row per lane.

Decisions follow LightGBM's ``Tree::NumericalDecision`` / ``CategoricalDecision`` on the values its
predictor sees (``|x| <= kZeroThreshold`` is read as 0.0, since its dense row reader drops such values):

* numerical, missing type None: NaN is read as 0.0, then ``x <= threshold`` goes left;
* missing type Zero: NaN and zero take ``default_left``;
* missing type NaN: NaN takes ``default_left``;
* categorical: the value is truncated to an int; NaN, negative and out-of-int-range values go right
  (``static_cast<int>`` gives INT_MIN for them on x86-64; where the cast of NaN gives 0, as on ARM,
  LightGBM reads NaN as category 0 unless the split's missing type is NaN: ``node_nan_zero``), otherwise
  left iff the category is in the split's bitset (categories past the bitset go right).
"""

from __future__ import annotations

import os

import numpy as np
from numba import njit, prange

__all__ = ["shap_blocks", "K_ZERO"]

K_ZERO = float(np.float32(1e-35))  # LightGBM's kZeroThreshold (a float literal widened to double)
# numba caches compiled code next to the source; imported from a wheel file (spark-submit --py-files) there
# is no source file to cache by, so each process compiles once instead of failing
_CACHE = os.path.isfile(__file__)


@njit(cache=_CACHE, inline="always")
def _categorical_left(v, words, start, length, nan_as_zero):  # pragma: no cover - compiled
    if v != v:
        if not nan_as_zero:
            return 0
        v = 0.0
    if v <= -1.0 or v >= 2147483648.0:
        return 0
    c = np.int64(v)  # truncation toward zero, like static_cast<int>
    w = c >> 5
    if w >= length:
        return 0
    return np.int64((words[start + w] >> np.uint32(c & 31)) & np.uint32(1))


@njit(cache=_CACHE, parallel=True)
def shap_blocks(x, transposed, n_cols, group_col, base, block,
                tree_node_start, tree_n_nodes, tree_group_start, tree_n_groups,
                node_feature, node_kind, node_threshold, node_default_left, node_cat_start, node_cat_len,
                node_nan_zero, node_left, node_right, node_bit, node_target, cat_bits,
                group_slot, group_mode, group_width, group_col_start, group_value, group_table,
                group_zero, tables, max_nodes, max_width):  # pragma: no cover - compiled
    """Contributions ``(n, n_cols + 1)``: column ``group_col[c]`` gets group column ``c``'s share; last ``base``.

    ``x`` is ``(n, n_features)`` C-contiguous, or its transpose when ``transposed``.
    """
    n = x.shape[1] if transposed else x.shape[0]
    n_features = x.shape[0] if transposed else x.shape[1]
    out = np.empty((n, n_cols + 1))
    n_blocks = (n + block - 1) // block
    n_trees = tree_node_start.shape[0]
    k_zero = K_ZERO
    for b in prange(n_blocks):
        r0 = b * block
        nb = min(n, r0 + block) - r0
        xb = np.empty((n_features, nb))
        for f in range(n_features):
            for r in range(nb):
                v = x[f, r0 + r] if transposed else x[r0 + r, f]
                if v >= -k_zero and v <= k_zero:
                    v = 0.0
                xb[f, r] = v
        acc = np.zeros((n_cols, nb))
        mask = np.empty((2 * max_nodes + 1, nb), dtype=np.int64)
        went = np.empty(nb, dtype=np.int64)
        idx = np.empty(nb, dtype=np.int64)
        pweight = np.empty((max_width + 1, nb))
        total = np.empty(nb)
        pre = np.empty(nb)
        prefix = np.empty((max_width, nb))
        for t in range(n_trees):
            nn = tree_n_nodes[t]
            if nn == 0:
                continue
            ns = tree_node_start[t]
            for r in range(nb):
                mask[0, r] = 0
            for j in range(nn):
                node = ns + j
                xf = xb[node_feature[node]]
                kind = node_kind[node]
                thr = node_threshold[node]
                dl = node_default_left[node]
                if kind == 0:  # missing None: NaN reads as 0.0
                    nan_go = 1 if 0.0 <= thr else 0
                    for r in range(nb):
                        v = xf[r]
                        went[r] = nan_go if v != v else (1 if v <= thr else 0)
                elif kind == 1:  # missing Zero: NaN and 0 take the default side
                    for r in range(nb):
                        v = xf[r]
                        if v != v or (v >= -k_zero and v <= k_zero):
                            went[r] = dl
                        else:
                            went[r] = 1 if v <= thr else 0
                elif kind == 2:  # missing NaN: NaN takes the default side
                    for r in range(nb):
                        v = xf[r]
                        went[r] = dl if v != v else (1 if v <= thr else 0)
                else:
                    cs = node_cat_start[node]
                    cl = node_cat_len[node]
                    nz = node_nan_zero[node]
                    for r in range(nb):
                        went[r] = _categorical_left(xf[r], cat_bits, cs, cl, nz)
                shift = node_bit[node]
                target = node_target[node]
                if target < 0:  # path node: failed-player masks of its children
                    parent = mask[j]
                    left = mask[node_left[node]]
                    right = mask[node_right[node]]
                    for r in range(nb):
                        g = went[r]
                        m = parent[r]
                        left[r] = m | ((1 - g) << shift)
                        right[r] = m | (g << shift)
                else:  # inside a grouped subtree: its decision is one bit of the group's index
                    index = mask[target]
                    for r in range(nb):
                        index[r] |= went[r] << shift
            gs = tree_group_start[t]
            for gi in range(gs, gs + tree_n_groups[t]):
                gm = mask[group_slot[gi]]
                u = group_width[gi]
                cs = group_col_start[gi]
                cols = group_col[cs:cs + u]
                off = group_table[gi]
                mode = group_mode[gi]
                if mode == 0:  # full table: one row of u contributions per index
                    for r in range(nb):
                        idx[r] = off + gm[r] * u
                    for k in range(u):
                        a = acc[cols[k]]
                        for r in range(nb):
                            a[r] += tables[idx[r] + k]
                elif mode == 1:  # compact: v * G[pattern without k] times the other players' zero products
                    zeros = group_zero[cs:cs + u]
                    full = (np.int64(1) << u) - 1
                    for r in range(nb):
                        idx[r] = full & ~gm[r]
                        pre[r] = 1.0
                    for k in range(u):  # prefix[k]: product over the players before k
                        zk = zeros[k]
                        before = prefix[k]
                        for r in range(nb):
                            before[r] = pre[r]
                            pre[r] *= 1.0 if (idx[r] >> k) & 1 else zk
                    for r in range(nb):
                        pre[r] = 1.0  # now the product over the players after k
                    for k in range(u - 1, -1, -1):
                        zk = zeros[k]
                        before = prefix[k]
                        a = acc[cols[k]]
                        drop = ~(np.int64(1) << k)
                        for r in range(nb):
                            p = idx[r]
                            one = (p >> k) & 1
                            a[r] += (one - zk) * before[r] * pre[r] * tables[off + (p & drop)]
                            pre[r] *= 1.0 if one else zk
                else:  # direct: TreeSHAP's EXTEND over the leaf's players, then UNWOUND sums, rows in lanes
                    zeros = group_zero[cs:cs + u]
                    value = group_value[gi]
                    full = (np.int64(1) << u) - 1
                    for r in range(nb):
                        idx[r] = full & ~gm[r]
                        pweight[0, r] = 1.0
                    for depth in range(1, u + 1):  # extend with player depth - 1
                        zk = zeros[depth - 1]
                        shift = depth - 1
                        last = pweight[depth]
                        for r in range(nb):
                            last[r] = 0.0
                        for i in range(depth - 1, -1, -1):
                            up = (i + 1) / (depth + 1)
                            stay = (depth - i) / (depth + 1)
                            hi = pweight[i + 1]
                            lo = pweight[i]
                            for r in range(nb):
                                one = (idx[r] >> shift) & 1
                                hi[r] += one * lo[r] * up
                                lo[r] = zk * lo[r] * stay
                    for k in range(u):
                        zk = zeros[k]
                        inv_z = 1.0 / zk
                        top = pweight[u]
                        for r in range(nb):
                            total[r] = 0.0
                            pre[r] = top[r]  # next one portion
                        for i in range(u - 1, -1, -1):
                            up = (u + 1) / (i + 1)
                            stay = (u - i) / (u + 1)
                            back = (u + 1) / (u - i)
                            lo = pweight[i]
                            for r in range(nb):
                                if (idx[r] >> k) & 1:
                                    tmp = pre[r] * up
                                    total[r] += tmp
                                    pre[r] = lo[r] - tmp * zk * stay
                                else:
                                    total[r] += lo[r] * inv_z * back
                        a = acc[cols[k]]
                        for r in range(nb):
                            a[r] += total[r] * (((idx[r] >> k) & 1) - zk) * value
        for r in range(nb):
            row = out[r0 + r]
            for c in range(n_cols):
                row[c] = acc[c, r]
            row[n_cols] = base
    return out
