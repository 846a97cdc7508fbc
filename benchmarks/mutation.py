"""Mutation testing of kamrisk's core modules: plant one plausible bug at a time, run the relevant tests.

Each mutant is a single-line change (an operator, an off-by-one, swapped arguments, a removed guard) made
in a temporary copy of the repository; the tests named for it run with ``-x`` against that copy. A mutant
is *killed* when the tests fail, *survives* when they pass. Prints the score and the survivors.

    python benchmarks/mutation.py               # every mutant (about 15-20 minutes on 2 cores)
    python benchmarks/mutation.py --only metrics --only explain
    python benchmarks/mutation.py --list
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROMISES = "tests/test_promises.py"
FAST = f"{PROMISES} -k 'not champion'"
SPARK_FEATURES = "tests/test_spark.py -k 'build_features or orders_alone or mapping'"

# (name, file, original text, mutated text, tests to run)
MUTANTS: list[tuple[str, str, str, str, str]] = [
    # metrics
    ("metrics: ece not weighted by rows", "kamrisk/_metrics.py", "return float(gap.sum() / counts.sum())",
     "return float(gap.mean())", FAST),
    ("metrics: ece of predictions only", "kamrisk/_metrics.py",
     "gap = np.abs(np.bincount(which, weights=y, minlength=bins) - ",
     "gap = np.abs(np.bincount(which, weights=y * 0, minlength=bins) - ", FAST),
    ("metrics: top 10% off by one", "kamrisk/_metrics.py", "top[order[:k]] = True", "top[order[:k + 1]] = True", FAST),
    ("metrics: top 10% from the bottom", "kamrisk/_metrics.py", "order = np.argsort(-score, kind=\"stable\")",
     "order = np.argsort(score, kind=\"stable\")", FAST),
    ("metrics: top 20%", "kamrisk/_metrics.py", "k = max(1, int(np.ceil(0.1 * n)))",
     "k = max(1, int(np.ceil(0.2 * n)))", FAST),
    ("metrics: lift over positives count", "kamrisk/_metrics.py",
     "out[\"lift_top10\"] = float(y[top].mean() / y.mean())",
     "out[\"lift_top10\"] = float(y[top].mean())", FAST),
    ("metrics: revenue recall unweighted", "kamrisk/_metrics.py", "float((revenue * y * top).sum() / lost)",
     "float((y * top).sum() / y.sum())", FAST),
    # training decision
    ("train: better is worse", "kamrisk/_train.py", "return new < old if metric in LOWER_IS_BETTER else new > old",
     "return new > old if metric in LOWER_IS_BETTER else new < old", f"{PROMISES} -k champion"),
    ("train: better never", "kamrisk/_train.py", "if not np.isfinite(old) or _better(new, old, metric):",
     "if not np.isfinite(old) or _better(old, new, metric):", f"{PROMISES} -k champion"),
    # explanations
    ("explain: weakest sign", "kamrisk/_explain/__init__.py",
     "masked = np.where(allowed, family_values, -np.inf)", "masked = np.where(allowed, -family_values, -np.inf)",
     FAST),
    ("explain: signs that lower the risk worded", "kamrisk/_explain/__init__.py",
     "allowed = np.column_stack([ok.get(features[j], none) for j in at]) & (family_values > 0)",
     "allowed = np.column_stack([ok.get(features[j], none) for j in at]) & (family_values > -1e9)",
     f"{FAST} tests/test_explain.py"),
    ("explain: what-if sign flipped", "kamrisk/_explain/__init__.py", "target = np.fmin(value, healthy)",
     "target = np.fmax(value, healthy)", "tests/test_explain.py"),
    # catalog
    ("catalog: direction flipped", "kamrisk/_catalog.py", "return {s.id: s.direction for s in self.signs}",
     "return {s.id: -s.direction for s in self.signs}", FAST),
    # drift
    ("drift: PSI on the training column twice", "kamrisk/_score.py", "now = actual[column].to_numpy(dtype=float)",
     "now = expected[column].to_numpy(dtype=float)", FAST),
    ("drift: PSI sign", "kamrisk/_score.py", "return float(np.sum((a - e) * np.log(a / e)))",
     "return float(np.sum((a - e) * np.log(e / a)))", FAST),
    # schema repair
    ("schema: resolved-before-raised repair removed", "kamrisk/_schema.py",
     "events.loc[backwards, \"resolved_date\"] = events.loc[backwards, \"event_date\"]", "pass", FAST),
    ("schema: repair the wrong way", "kamrisk/_schema.py",
     "backwards = events[\"resolved_date\"] < events[\"event_date\"]",
     "backwards = events[\"resolved_date\"] > events[\"event_date\"]", FAST),
    # features
    ("features: open complaints counted on as_of", "kamrisk/_features/_channel_conflict.py",
     "raised = ctx.event_timeline(types).count(ctx.codes, ctx.t - NEVER, ctx.t)",
     "raised = ctx.event_timeline(types).count(ctx.codes, ctx.t - NEVER, ctx.t + 1)", FAST),
    ("features: resolution not counted", "kamrisk/_features/_channel_conflict.py", "return raised - resolved",
     "return raised", f"{FAST} tests/test_features.py"),
    # predict (REST and batch)
    ("predict: lapsed rows scored", "kamrisk/_predict.py", "gone = lapsed(X, trained.recipe.activity)",
     "gone = lapsed(X, trained.recipe.activity) & False", f"{PROMISES} -k batch_rules"),
    ("predict: text of unscored rows missing", "kamrisk/_predict.py",
     "full = np.full(len(X), \"\", dtype=object)", "full = np.full(len(X), None, dtype=object)",
     f"{PROMISES} -k batch_rules"),
    ("predict: answers out of row order", "kamrisk/_predict.py", "full[scored] = values",
     "full[scored] = values[::-1]", "tests/test_explain.py -k alone"),
    ("predict: category codes shifted", "kamrisk/_model.py", "out[:, j] = np.where(codes >= 0, codes, np.nan)",
     "out[:, j] = np.where(codes >= 0, codes + 1, np.nan)", "tests/test_model.py -k matrix"),
    ("predict: unseen level kept", "kamrisk/_model.py",
     "codes = np.where(codes >= 0, position[np.maximum(codes, 0)] if len(uniques) else -1, -1)",
     "codes = np.where(codes >= 0, np.abs(position[np.maximum(codes, 0)]) if len(uniques) else -1, -1)",
     "tests/test_model.py"),
    ("explain: what-if columns missing when no row is explained", "kamrisk/_predict.py",
     "columns.setdefault(f\"whatif_{family}\", np.full(len(X), np.nan))", "pass", "tests/test_explain.py -k alone"),
    ("drift: drift.csv never written", "kamrisk/_cli.py", "result.drift.to_csv(drift_file, index=False)", "pass",
     "tests/test_score.py -k drift_table"),
    # report escaping
    ("report: reason text |safe", "kamrisk/_report/templates/report.html.j2", "<p>{{ x.text }}</p>",
     "<p>{{ x.text|safe }}</p>", FAST),
    # labels
    ("labels: horizon starts a day late", "kamrisk/_labels.py",
     "actual = ctx.orders.sum(\"net\", ctx.codes, ctx.t + lead_days, ctx.t + days)",
     "actual = ctx.orders.sum(\"net\", ctx.codes, ctx.t + lead_days + 1, ctx.t + days)", "tests/test_labels.py"),
    ("labels: expected sees as_of", "kamrisk/_labels.py",
     "trailing = ctx.orders.sum(\"net\", ctx.codes, ctx.t - _TRAILING, ctx.t)",
     "trailing = ctx.orders.sum(\"net\", ctx.codes, ctx.t - _TRAILING, ctx.t + 1)",
     "tests/test_labels.py"),
    ("labels: censoring removed", "kamrisk/_labels.py",
     "observed = ctx.t + days <= to_days(pd.Series([data.end]))[0]",
     "observed = ctx.t + days <= to_days(pd.Series([data.end]))[0] + 10_000", "tests/test_labels.py"),
    ("labels: no revenue still labelled", "kamrisk/_labels.py",
     "label = np.where(observed & (expected > 0), label, np.nan)", "label = np.where(observed, label, np.nan)",
     "tests/test_labels.py"),
    ("labels: threshold inverted", "kamrisk/_labels.py", "label = np.where(actual < threshold * expected, 1.0, 0.0)",
     "label = np.where(actual > threshold * expected, 1.0, 0.0)", "tests/test_labels.py"),
    # stages
    ("stages: lapsed limit ignores the reorder gap", "kamrisk/_stages.py",
     "limit = np.fmax(activity.lapsed_after_days, activity.lapsed_gaps * np.nan_to_num(gap, nan=0.0))",
     "limit = activity.lapsed_after_days", FAST),
    ("stages: lapsed at the limit", "kamrisk/_stages.py",
     "return X[\"days_since_last_order\"].to_numpy(dtype=float) > limit",
     "return X[\"days_since_last_order\"].to_numpy(dtype=float) >= limit", FAST),
    ("stages: declining against the whole year", "kamrisk/_stages.py",
     "fell = (pace <= 0) | (recent < stages.declining_share * pace)",
     "fell = (pace <= 0) | (recent < stages.declining_share * pace * 4)", FAST),
    ("stages: declining ignored", "kamrisk/_stages.py", "out[declining(X, stages)] = \"declining\"",
     "out[declining(X, stages) & False] = \"declining\"", FAST),
    ("stages: warning only at high", "kamrisk/_stages.py",
     "warn = np.isin(band, (\"high\", \"medium\") if stages.warning_band == \"medium\" else (\"high\",))",
     "warn = np.isin(band, (\"high\",))", FAST),
    # model
    ("model: high band strictly above", "kamrisk/_model.py", "np.where(risk >= bands[\"high\"], \"high\"",
     "np.where(risk > bands[\"high\"], \"high\"", FAST),
    ("model: medium band from the high cut", "kamrisk/_model.py",
     "np.where(risk >= bands[\"medium\"], \"medium\", \"low\")",
     "np.where(risk >= bands[\"high\"] / 2, \"medium\", \"low\")", FAST),
    # order features
    ("orders: prior window off by one", "kamrisk/_features/_orders.py",
     "return (2 * window, window) if versus == \"prior\" else (_YEAR + window, _YEAR)",
     "return (2 * window, window - 1) if versus == \"prior\" else (_YEAR + window, _YEAR)",
     f"{FAST} tests/test_features.py"),
    ("orders: change not relative", "kamrisk/_features/_orders.py",
     "return _ratio(ctx.order_sum(\"net\", window), base) - 1.0", "return _ratio(ctx.order_sum(\"net\", window), base)",
     "tests/test_features.py"),
    ("orders: divide by nothing", "kamrisk/_features/_orders.py", "ok = denominator > 1e-6", "ok = denominator > -1",
     "tests/test_features.py"),
    ("features: peak month sees the as_of day", "kamrisk/_features/_channel_conflict.py",
     "partial = ctx.orders.position(codes, days) - ctx.orders.position(codes, month_start)",
     "partial = ctx.orders.position(codes, days + 1) - ctx.orders.position(codes, month_start)",
     "tests/test_features.py tests/test_features_equality.py"),
    ("features: peak month forgets the years before", "kamrisk/_features/_channel_conflict.py",
     "before = np.where(year >= 0, self.so_far[codes[:, None], np.maximum(year, 0), residue], 0)",
     "before = np.where(year >= 1, self.so_far[codes[:, None], np.maximum(year, 0), residue], 0)",
     "tests/test_features.py tests/test_features_equality.py"),
    ("features: product lines remembered for the wrong window end", "kamrisk/_features/_orders.py",
     "return ctx.memo((\"pair_last_day\", column, end), compute)",
     "return ctx.memo((\"pair_last_day\", column), compute)",
     "tests/test_features.py tests/test_features_equality.py"),
    ("features: a line bought once is never bought", "kamrisk/_features/_orders.py",
     "np.where(last >= pair_first, last, -1)", "np.where(last > pair_first, last, -1)",
     "tests/test_features.py tests/test_features_equality.py"),
    # Spark (slow: each run starts a local Spark)
    ("spark: top-20% flag rank off by one", "kamrisk/spark.py", "((size - highest + 1) / size <=",
     "((size - highest) / size <=", f"{SPARK_FEATURES}"),
    ("spark: the product travels instead of the category", "kamrisk/spark.py",
     "line = line_column(frame.columns)", "line = \"product\"", f"{SPARK_FEATURES}"),
    # tracking
    ("tracking: empty registered model kept", "kamrisk/_tracking.py", "            _drop_if_empty(client, name)",
     "            pass", "tests/test_tracking_faults.py -k empty"),
    ("tracking: dead server is no champion", "kamrisk/_tracking.py",
     "        if _unreachable(exc):  # a store that does not answer is not \"no champion yet\"",
     "        if False:", "tests/test_tracking_faults.py -k champion"),
]


def _run(name: str, file: str, old: str | None, new: str, tests: str, timeout: float) -> str:
    """Plant ``old`` -> ``new`` in ``file`` of a fresh copy (nothing when ``old`` is None) and run ``tests``."""
    with tempfile.TemporaryDirectory(prefix="kamrisk-mutant-") as tmp:
        copy = Path(tmp)
        for part in ("kamrisk", "features", "models", "tests", "pyproject.toml"):
            source = ROOT / part
            if source.is_dir():
                shutil.copytree(source, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
            elif source.exists():
                shutil.copy2(source, copy / part)
        if old is not None:
            target = copy / file
            text = target.read_text(encoding="utf-8")
            if text.count(old) != 1:
                return "stale"  # the code moved on: the mutant no longer applies
            target.write_text(text.replace(old, new), encoding="utf-8")
        command = f"{sys.executable} -m pytest -q -x -p no:cacheprovider {tests}"
        try:
            done = subprocess.run(command, shell=True, cwd=copy, capture_output=True, timeout=timeout,
                                  env={**os.environ, "PYTHONPATH": str(copy)})
        except subprocess.TimeoutExpired:
            return "killed"  # a hang is caught too
        if done.returncode == 5:  # no test selected: the mutant's test list is wrong, not a kill
            return "error"
        return "survived" if done.returncode == 0 else "killed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], help="run mutants whose name contains this")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per mutant")
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if not args.only or any(o in m[0] for o in args.only)]
    if args.list:
        print("\n".join(f"{m[0]}  ({m[1]})" for m in chosen))
        return
    start = time.time()
    for tests in dict.fromkeys(m[4] for m in chosen):  # every test list passes on the unmutated code
        outcome = _run("baseline", "", None, "", tests, args.timeout)
        if outcome != "survived":
            raise SystemExit(f"The tests `{tests}` do not pass on the unmutated code ({outcome}): fix them first.")
    results = {}
    for mutant in chosen:
        t = time.time()
        results[mutant[0]] = _run(*mutant, timeout=args.timeout)
        print(f"{results[mutant[0]]:8s} {time.time() - t:6.1f}s  {mutant[0]}", flush=True)
    counted = [r for r in results.values() if r in ("killed", "survived")]
    killed = counted.count("killed")
    print(f"\nMutation score: {killed}/{len(counted)} = {killed / max(len(counted), 1):.0%} "
          f"({time.time() - start:.0f} s); stale mutants: {list(results.values()).count('stale')}, "
          f"mutants whose tests selected nothing: {list(results.values()).count('error')}")
    survivors = [n for n, r in results.items() if r == "survived"]
    print("Survivors:" + ("".join(f"\n  {n}" for n in survivors) if survivors else " none"))


if __name__ == "__main__":
    main()
