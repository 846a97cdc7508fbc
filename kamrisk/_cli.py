"""The ``kamrisk`` command line: a thin layer over the Python API.

A user's mistake (bad path, bad data, bad option) prints ``Error: <message>`` and exits 1; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ._errors import KamriskError
from ._progress import progress, step_text

_BANDS_ZH = {"high": "高", "medium": "中", "low": "低"}

_CATALOG_HELP = ("A folder of your own sign family files (and vocabulary.yaml), read on top of the shipped "
                 "catalog; see features/README.md.")

app = typer.Typer(
    name="kamrisk",
    help="Which key accounts are about to defect, why, and what to do about it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _echo(message: str) -> None:
    typer.echo(message)


_SCORERS_ZH = {"model": "模型", "recency": "近期基线", "logistic": "逻辑回归", "oracle": "模拟器真值"}
_METRICS_ZH = {"roc_auc": "AUC", "pr_auc": "PR-AUC", "brier": "Brier分数", "ece": "校准误差",
               "lift_top10": "前10%提升度", "revenue_recall_top10": "前10%收入召回", "rows": "样本行",
               "positives": "流失样本"}


def _backtest_text(backtest, lang: str) -> str:
    """The backtest's figures for the console: its own summary in English, a table of the same figures in
    Chinese (the further figures of the simulator are printed in words by the demo)."""
    if lang != "zh":
        return backtest.summary()
    table = backtest.overall[list(_METRICS_ZH)].rename(columns=_METRICS_ZH, index=_SCORERS_ZH)
    for column in ("样本行", "流失样本"):
        table[column] = table[column].map(lambda v: f"{v:,.0f}")
    kind = {"full": "全面", "partial": "份额"}.get(backtest.recipe.label.kind, backtest.recipe.label.kind)
    return (f"回测（配方 {backtest.recipe.name}，预测{backtest.recipe.horizon_days}天内{kind}流失），共"
            f"{len(backtest.fold_plan)}折，各评分方法使用相同样本：\n"
            + table.to_string(float_format=lambda v: f"{v:.3f}", na_rep="–"))


def _registry_text(registry, lang: str) -> str:
    """What the registry did with the new model, for the console."""
    if lang != "zh" or registry.alias is None:
        return registry.message
    if registry.alias == "champion":
        why = "该注册模型的第一个版本" if "first version" in registry.message else "在相同回测折上胜过原冠军模型"
        return f"{registry.name} v{registry.version} 成为冠军模型（champion）：{why}。"
    return (f"{registry.name} v{registry.version} 登记为挑战模型（challenger）：在相同回测折上未胜过冠军模型，"
            "冠军模型保持不变。")


def _review_text(reviewed, catalog, lang: str) -> str:
    """The review's headline for the console."""
    if lang != "zh":
        return reviewed.summary()
    import math

    h = reviewed.headline()
    period = f"{reviewed.start:%Y-%m-%d} 至 {reviewed.end:%Y-%m-%d}"
    if not h["lost"]:
        return f"复盘 {period}：没有客户的订单显示流失。"
    lead = "无预警" if math.isnan(h["median_lead_days"]) else f"{h['median_lead_days']:.0f}天"
    cause = catalog.family_name(h["top_cause"], "zh") if h["top_cause"] else "无"
    text = (f"复盘 {period}：流失客户 {h['lost']} 家，流失收入 {h['revenue_lost']:,.0f}。及时预警 "
            f"{h['share_in_time']:.0%}（{h['in_time']} 家）；预警偏晚 {h['late']} 家；漏报 {h['missed']} 家。"
            f"已预警客户的提前期中位数：{lead}。最常见的主因：{cause}"
            + (f"（{h['top_cause_count']} 家）。" if h["top_cause"] else "。"))
    if reviewed.simulated and h.get("planted"):
        text += f"主因与模拟器设定的原因一致的比例为 {h['cause_agreement']:.0%}（共 {h['planted']} 家）。"
    return text


@app.command()
def validate(
    data: Annotated[Path, typer.Argument(help="Data folder: orders (required), events, accounts, mapping.yaml.")],
) -> None:
    """Check a data folder against the data contract and print every problem found."""
    import warnings

    from ._errors import DataWarning
    from ._schema import load_data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # they are printed in the report below
        book = load_data(data)
    _echo(f"{data}: valid. {book!r}")
    _echo(str(book.report))


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="Folder to write the simulated book to.")],
    accounts: Annotated[int, typer.Option(min=10, help="Number of key accounts.")] = 2000,
    months: Annotated[int, typer.Option(min=13, help="Months of history.")] = 36,
    start: Annotated[str, typer.Option(help="First day of the history, YYYY-MM-DD.")] = "2023-01-01",
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same book.")] = 7,
    messy: Annotated[
        bool,
        typer.Option(
            help="Add what real exports have: duplicates, returns, own event names with a mapping.yaml, late records."
        ),
    ] = False,
) -> None:
    """Simulate a book of key accounts with planted defections (the embedded default data)."""
    from .sim import simulate as run

    book = run(accounts=accounts, months=months, start=start, seed=seed, messy=messy, out=out)
    _echo(f"Wrote a simulated book to {out}: {book.summary()}")


@app.command()
def features(
    data: Annotated[Path, typer.Argument(help="Data folder: orders (required), events, accounts, mapping.yaml.")],
    out: Annotated[Path, typer.Option(help="Output table, by extension: .parquet (keeps the index) or .csv.")],
    as_of: Annotated[
        list[str] | None, typer.Option("--as-of", help="An as-of date, YYYY-MM-DD; repeat for several.")
    ] = None,
    every: Annotated[
        str | None, typer.Option(help="A calendar of as-of dates: '1M' (month starts), '3M', '7d', '2w', ...")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="First date of the --every calendar (default: the first order).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last date of the --every calendar (default: the data's end).")
    ] = None,
    family: Annotated[list[str] | None, typer.Option(help="Only this sign family; repeat for several.")] = None,
    catalog: Annotated[Path | None, typer.Option(help=_CATALOG_HELP)] = None,
    active_days: Annotated[
        int, typer.Option(min=1, help="Accounts with an order in this many days before as_of get a row.")
    ] = 365,
) -> None:
    """Build the defection-sign features of every active account at each as-of date."""

    import pandas as pd

    from ._calendar import as_of_calendar
    from ._errors import OptionError
    from ._features import build_features
    from ._options import parse_as_of
    from ._outputs import check_output

    check_output(out, ("parquet", "csv"))
    suffix = out.suffix.lower()
    if every is None and (start is not None or end is not None):
        raise OptionError("--from and --to bound the --every calendar; give --every too (e.g. --every 1M).")
    if every is None and not as_of:
        raise OptionError("Give the as-of dates: --as-of DATE (repeatable), or --every 1M [--from DATE --to DATE].")
    dates = list(parse_as_of(as_of, "--as-of")) if as_of else []
    sign_catalog = _catalog(catalog)
    book = _load(data, sign_catalog)
    if every is not None:
        dates += list(
            as_of_calendar(every, start if start is not None else book.start, end if end is not None else book.end)
        )
    table = build_features(book, dates, catalog=sign_catalog, families=family, active_days=active_days)
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        table.to_parquet(out)
    else:
        table.reset_index().to_csv(out, index=False)
    accounts = table.index.get_level_values("account_id").nunique()
    snapshots = pd.Index(table.index.get_level_values("as_of")).nunique()
    _echo(
        f"Wrote {len(table)} rows ({accounts} accounts at {snapshots} as-of dates) x {table.shape[1]} "
        f"features to {out} (catalog {table.attrs['catalog_hash']})."
    )


def _load(data: Path, catalog=None):
    """Load a data folder, showing its warnings; events are checked against ``catalog``'s vocabulary."""
    import warnings

    from ._errors import DataWarning
    from ._schema import load_data

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        book = load_data(data, vocabulary=catalog.vocabulary if catalog is not None else None)
    for warning in caught:
        typer.echo(f"Warning: {warning.message}", err=True)
    return book


def _catalog(folder: Path | None):
    """The shipped sign catalog, with the user's own folder on top when given."""
    from ._catalog import load_catalog

    return load_catalog(folder, extends=True) if folder is not None else load_catalog()


def _simulator(data: Path, recipe_name: str, simulated: bool) -> tuple[dict, list]:
    """The simulator's oracle and truth measures, for a book written by `kamrisk simulate`."""
    if not simulated:
        return {}, []
    from ._recipe import load_recipe
    from .sim import evaluation

    recipe = load_recipe(recipe_name)
    try:
        return evaluation(data, horizon_days=recipe.horizon_days, label_kind=recipe.label_kind)
    except (ValueError, FileNotFoundError) as exc:
        from ._errors import OptionError

        raise OptionError(f"--simulated: {exc}") from None


RecipeOption = Annotated[
    str,
    typer.Option("--recipe", "-r", "--config", "-c",
                 help="Model recipe: a name in models/ (default, partial, short, early) or a config.yaml path."),
]
CatalogOption = Annotated[Path | None, typer.Option(help=_CATALOG_HELP)]
SimulatedOption = Annotated[
    bool,
    typer.Option(help="DATA is a book written by `kamrisk simulate`: also score the simulator's oracle and "
                      "measure reasons against its planted causes."),
]


@app.command()
def backtest(
    data: Annotated[Path, typer.Argument(help="Data folder: orders (required), events, accounts, mapping.yaml.")],
    recipe: RecipeOption = "default",
    catalog: CatalogOption = None,
    simulated: SimulatedOption = False,
    out: Annotated[
        Path | None, typer.Option(help="Write the per-row backtest predictions here (.parquet/.csv).")
    ] = None,
) -> None:
    """Rolling-origin backtest of a recipe against the recency and logistic baselines."""
    from ._backtest import backtest as run

    sign_catalog = _catalog(catalog)
    book = _load(data, sign_catalog)
    scorers, evaluators = _simulator(data, recipe, simulated)
    with progress() as bar:
        task = bar.add_task("Backtesting", total=None)
        result = run(book, recipe, catalog=sign_catalog, scorers=scorers, evaluators=evaluators,
                     on_fold=lambda i, n: bar.update(task, completed=i, total=n))
    _echo(result.summary())
    _echo("\nFolds:\n" + result.fold_plan.drop(columns="fold").to_string())
    model_rows = result.segments[result.segments["scorer"] == "model"]
    _echo(
        "\nBy segment, channel and revenue tier (model):\n"
        + model_rows[["by", "group", "roc_auc", "pr_auc", "lift_top10", "rows", "positives"]].to_string(
            index=False, float_format=lambda v: f"{v:.3f}"
        )
    )
    if out is not None:
        _write_table(result.predictions.reset_index(), out)
        _echo(f"\nWrote the backtest predictions to {out}")


@app.command()
def train(
    data: Annotated[Path, typer.Argument(help="Data folder: orders (required), events, accounts, mapping.yaml.")],
    recipe: RecipeOption = "default",
    catalog: CatalogOption = None,
    simulated: SimulatedOption = False,
    tracking_uri: Annotated[
        str | None, typer.Option(help="MLflow tracking URI; default MLFLOW_TRACKING_URI or sqlite:///./mlflow.db.")
    ] = None,
    experiment: Annotated[str, typer.Option(help="MLflow experiment name.")] = "kamrisk",
    register: Annotated[str, typer.Option(help="Registered model name.")] = "kamrisk",
) -> None:
    """Backtest, fit and log a recipe to MLflow; register it and move `champion` only if it wins."""
    from ._train import train as run

    sign_catalog = _catalog(catalog)
    book = _load(data, sign_catalog)
    scorers, evaluators = _simulator(data, recipe, simulated)
    with progress() as bar:
        task = bar.add_task("Training", total=4)

        def step(name: str) -> None:
            bar.update(task, description=name, advance=1)

        result = run(book, recipe, catalog=sign_catalog, scorers=scorers, evaluators=evaluators,
                     tracking_uri=tracking_uri, experiment=experiment, register=register, on_step=step)
    _echo(result.backtest.summary())
    _echo(f"\nMLflow run {result.registry.run_id}: {result.registry.message}")


@app.command()
def score(
    data: Annotated[Path, typer.Argument(help="Data folder to score.")],
    as_of: Annotated[list[str], typer.Option("--as-of", help="Scoring date, YYYY-MM-DD; repeat for several.")],
    out: Annotated[Path, typer.Option(help="Output file: .parquet, .csv or .xlsx.")],
    model: Annotated[str, typer.Option(help="MLflow model URI or local model folder.")] = "models:/kamrisk@champion",
    lang: Annotated[str, typer.Option(help="Language of reasons and actions: en or zh.")] = "en",
    reasons: Annotated[str, typer.Option(help="Explain all rows, only at_risk (high/medium band) rows, or none.")]
    = "all",
    tracking_uri: Annotated[str | None, typer.Option(help="Where models:/ URIs resolve; default as for train.")]
    = None,
    allow_new_levels: Annotated[bool, typer.Option(help="Score category levels the model never saw as unknown.")]
    = False,
    previous: Annotated[
        Path | None, typer.Option(help="An earlier scores table: add risk_change, band_change, stage_change and "
                                       "new_reasons per account; accounts it had and the data lacks are kept.")
    ] = None,
    allow_outside_data: Annotated[bool, typer.Option(
        help="Score an as_of before the first order or more than a month after the data's end.")] = False,
) -> None:
    """Score every account at as_of: risk, band, revenue at risk, reasons, cause and action."""
    import warnings

    from ._options import check_lang, check_reasons
    from ._outputs import check_output
    from ._score import DriftWarning, load_model, write_scores
    from ._score import score as run

    lang, _ = check_lang(lang), check_reasons(reasons)  # before any work: loading a book takes a while
    check_output(out, ("parquet", "csv", "xlsx"))
    if previous is not None:
        from ._report import read_scores

        previous_scores = read_scores(previous)  # before any work: a bad file fails at once
    trained = load_model(model, tracking_uri=tracking_uri)
    book = _load(data, trained.catalog)  # events may use the event types of the model's own catalog
    with progress() as bar:
        bar.add_task(step_text("Scoring", lang), total=None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DriftWarning)  # shown as a table below
            result = run(book, trained, as_of=as_of, lang=lang, reasons=reasons, tracking_uri=tracking_uri,
                         allow_new_levels=allow_new_levels, allow_outside_data=allow_outside_data,
                         previous=previous_scores if previous is not None else None)
    write_scores(result.scores, out)
    scores = result.scores
    scored = scores[scores["status"] == "scored"]
    version = scores["model_version"].iloc[0] if len(scores) else ""
    kind, days, unscorable = scores["label_kind"].iloc[0], scores["horizon_days"].iloc[0], len(scores) - len(scored)
    bands = scored["band"].value_counts().reindex(["high", "medium", "low"], fill_value=0)
    at_risk = scored["revenue_at_risk"].sum()
    if lang == "zh":
        kind_zh = {"full": "全面", "partial": "份额"}.get(kind, kind)
        _echo(f"已用 {version}（预测{days}天内{kind_zh}流失）为 {len(scores)} 行客户中的 {len(scored)} 行评分；"
              f"{unscorable} 行无法评分（原因见评分表）。已写入 {out}")
        _echo("风险等级：" + "，".join(f"{_BANDS_ZH[b]} {n}" for b, n in bands.items()) + f"；风险收入 {at_risk:,.0f}")
    else:
        _echo(f"Scored {len(scored)} of {len(scores)} account rows with {version} ({kind} defection within {days} "
              f"days); {unscorable} unscorable (see status_reason). Wrote {out}")
        _echo("Bands: " + ", ".join(f"{b} {n}" for b, n in bands.items()) + f"; revenue at risk {at_risk:,.0f}")
    if previous is not None:
        now = scores[scores["as_of"] == scores["as_of"].max()]
        changes = now["band_change"]
        newly_high = int((changes.str.endswith("->high") | ((changes == "new") & (now["band"] == "high"))).sum())
        up, new, gone = (int((now["risk_change"] >= 0.05).sum()), int((changes == "new").sum()),
                         int((changes == "gone").sum()))
        _echo(f"与上次评分相比：新进入高风险 {newly_high}，风险上升5个百分点以上 {up}，新客户 {new}，"
              f"不再出现 {gone}（保留为无法评分行）。" if lang == "zh" else
              f"Since the previous scoring: {newly_high} newly high, {up} up 5 points or more, {new} new, "
              f"{gone} gone (kept as unscorable rows).")
    drifted = result.drifted
    if len(drifted):
        drift_file = out.with_name(out.stem + ".drift.csv")
        result.drift.to_csv(drift_file, index=False)
        typer.echo((f"警告：{len(drifted)} 个特征相对训练数据发生漂移（PSI > 0.2）；完整表格见 {drift_file}：\n"
                    if lang == "zh" else
                    f"Warning: {len(drifted)} feature(s) drifted from the training data (PSI > 0.2); "
                    f"full table in {drift_file}:\n") + drifted.head(15).to_string(index=False), err=True)


def _write_table(frame, out: Path) -> None:
    from ._errors import OptionError

    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise OptionError(f"{out}: unknown output format {suffix!r}; use .parquet or .csv.")
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(out) if suffix == ".parquet" else frame.to_csv(out, index=False)


@app.command()
def report(
    scores: Annotated[Path, typer.Argument(help="Scores table written by `kamrisk score`: .parquet, .csv or .xlsx.")],
    out: Annotated[Path, typer.Option(help="The HTML report to write: one self-contained .html file.")],
    xlsx: Annotated[
        Path | None, typer.Option(help="Also write an Excel workbook (.xlsx): sheets Portfolio and Reasons.")
    ] = None,
    lang: Annotated[str, typer.Option(help="Language of the report: en or zh.")] = "en",
    top: Annotated[
        int, typer.Option(min=0, help="Cards for the N accounts with the most revenue at risk (the table lists all).")
    ] = 200,
    data: Annotated[
        Path | None, typer.Option(help="Data folder: draws each account's monthly revenue of the last 24 months.")
    ] = None,
    catalog: Annotated[Path | None, typer.Option(help="The sign folder the scoring model was trained with, if "
                                                      "it added its own (family names and actions come from it).")]
    = None,
) -> None:
    """Write the account team's report: portfolio, accounts by revenue at risk, a card per account."""
    from ._options import check_lang
    from ._outputs import check_output
    from ._report import read_scores, write_report

    lang = check_lang(lang)
    check_output(out, ("html", "htm"))
    if xlsx is not None:
        check_output(xlsx, ("xlsx",))
    table = read_scores(scores)
    sign_catalog = _catalog(catalog)
    book = _load(data, sign_catalog) if data is not None else None
    path = write_report(table, out, xlsx=xlsx, lang=lang, top=top, data=book, catalog=sign_catalog)
    latest = table[table["as_of"] == table["as_of"].max()]
    scored = int((latest["status"] == "scored").sum())
    also = f" and the workbook to {xlsx}" if xlsx is not None else ""
    if lang == "zh":
        also = f"，工作簿写入 {xlsx}" if xlsx is not None else ""
        _echo(f"已将 {scored} 个已评分、{len(latest) - scored} 个无法评分客户的报告（评估日 "
              f"{latest['as_of'].max():%Y-%m-%d}）写入 {path}{also}。")
        return
    _echo(f"Wrote the report of {scored} scored and {len(latest) - scored} unscorable accounts "
          f"(as of {latest['as_of'].max():%Y-%m-%d}) to {path}{also}.")


@app.command()
def review(
    data: Annotated[Path, typer.Argument(help="Data folder: orders (required), events, accounts, mapping.yaml.")],
    start: Annotated[str, typer.Option("--from", help="First day of the period, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="The day after the period, YYYY-MM-DD.")],
    out: Annotated[Path, typer.Option(help="The review page to write: one self-contained .html file.")],
    model: Annotated[str, typer.Option(help="MLflow model URI or local model folder.")] = "models:/kamrisk@champion",
    xlsx: Annotated[Path | None, typer.Option(help="Also write an Excel workbook (.xlsx).")] = None,
    lang: Annotated[str, typer.Option(help="Language of the page, reasons and actions: en or zh.")] = "en",
    lookback: Annotated[str, typer.Option(help="How far before each fall the model is replayed, e.g. 365d.")]
    = "365d",
    top: Annotated[int, typer.Option(min=0, help="Month-by-month cards for the N accounts with most revenue lost.")]
    = 200,
    simulated: Annotated[bool, typer.Option(help="DATA is a book written by `kamrisk simulate`: put the planted "
                                                 "cause beside the model's.")] = False,
    tracking_uri: Annotated[str | None, typer.Option(help="Where models:/ URIs resolve; default as for train.")]
    = None,
) -> None:
    """The black box of lost accounts: every defection visible in the period, taken apart month by month."""
    from ._options import check_lang
    from ._outputs import check_output
    from ._review import review as run
    from ._review import write_review
    from ._score import load_model

    check_lang(lang)
    check_output(out, ("html", "htm"))
    if xlsx is not None:
        check_output(xlsx, ("xlsx",))
    truth = data / "truth.parquet" if simulated else None
    if truth is not None and not truth.is_file():
        from ._errors import OptionError

        raise OptionError(f"--simulated: {truth} is missing; give the folder written by `kamrisk simulate`.")
    trained = load_model(model, tracking_uri=tracking_uri)
    book = _load(data, trained.catalog)
    with progress() as bar:
        bar.add_task("Reviewing the lost accounts", total=None)
        result = run(book, trained, start=start, end=end, lang=lang, lookback=lookback, truth=truth)
    write_review(result, out, xlsx=xlsx, lang=lang, top=top)
    _echo(result.summary())
    also = f" and the workbook to {xlsx}" if xlsx is not None else ""
    _echo(f"Wrote the review to {out}{also}.")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the simulated book, the MLflow store and the outputs.")] = Path(
        "kamrisk-demo"
    ),
    accounts: Annotated[int, typer.Option(min=50, help="Accounts in the simulated book.")] = 2000,
    months: Annotated[int, typer.Option(min=30, help="Months of history.")] = 36,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    lang: Annotated[str, typer.Option(help="Language of reasons and the report: en or zh.")] = "en",
) -> None:
    """The main job on the embedded default, end to end: simulate a book, validate it, backtest and train into
    a local MLflow store, register the champion, score the latest as_of, and write the HTML and Excel reports."""
    import warnings

    import pandas as pd

    from ._options import check_lang
    from ._recipe import load_recipe
    from ._report import write_report
    from ._score import DriftWarning, write_scores
    from ._score import score as run_scoring
    from ._train import train as run_training
    from .sim import evaluation
    from .sim import simulate as run_simulation

    lang = check_lang(lang)
    recipe = load_recipe("default")
    out.mkdir(parents=True, exist_ok=True)
    data = out / "data"
    store = f"sqlite:///{(out / 'mlflow.db').resolve()}"
    with progress() as bar:
        task = bar.add_task(step_text("Simulating a book of key accounts", lang), total=8)
        run_simulation(accounts=accounts, months=months, seed=seed, out=data)
        bar.update(task, advance=1, description=step_text("Validating the data", lang))
        book = _load(data)
        scorers, evaluators = evaluation(data, horizon_days=recipe.horizon_days, label_kind=recipe.label_kind)
        bar.update(task, advance=1)

        def step(name: str) -> None:
            bar.update(task, description=step_text(name, lang), advance=1)

        result = run_training(book, recipe, scorers=scorers, evaluators=evaluators, tracking_uri=store,
                              experiment="kamrisk-demo", register="kamrisk", on_step=step)
        bar.update(task, description=step_text("Scoring the latest as_of", lang))
        latest = book.end
        history = pd.date_range(end=latest - pd.Timedelta(days=1), periods=6, freq="MS")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DriftWarning)
            scored = run_scoring(book, "models:/kamrisk@champion", as_of=[*history, latest], lang=lang,
                                 reasons="all", tracking_uri=store)
        scores_file = write_scores(scored.scores, out / "scores.parquet")
        bar.update(task, advance=1, description=step_text("Writing the reports", lang))
        reviewed = _demo_review(book, result.trained, data, lang, out)
        report = write_report(scored.scores, out / "report.html", xlsx=out / "report.xlsx", lang=lang, top=100,
                              data=book, catalog=result.catalog)
        bar.update(task, advance=1)
    now = scored.scores[scored.scores["as_of"] == latest]
    now_scored = now[now["status"] == "scored"]
    extras = result.backtest.extras
    say = _DEMO_ZH if lang == "zh" else _DEMO_EN
    events = 0 if book.events is None else len(book.events)
    _echo(say["book"].format(accounts=len(book.accounts), orders=len(book.orders), events=events,
                             start=book.start.date(), end=book.end.date()))
    _echo(_backtest_text(result.backtest, lang) if lang == "zh" else result.backtest.summary())
    if "early_auc_model" in extras:
        _echo(say["early"].format(model=extras["early_auc_model"], oracle=extras["early_auc_oracle"],
                                  recency=extras["early_auc_recency"]))
    if "reason_accuracy" in extras:
        _echo(say["fidelity"].format(share=extras["reason_accuracy"], rows=int(extras["reason_rows"]),
                                     oracle=extras.get("oracle_reason_accuracy", float("nan"))))
    _echo(say["mlflow"].format(message=_registry_text(result.registry, lang)))
    _echo(say["scored"].format(n=len(now_scored), date=f"{latest:%Y-%m-%d}", unscorable=len(now) - len(now_scored),
                               at_risk=now_scored["revenue_at_risk"].sum()))
    top10 = now_scored.head(10)
    width = max(len(str(n)) for n in top10["name"].fillna(top10["account_id"])) if len(top10) else 10
    for row in top10.itertuples():
        name = row.name if isinstance(row.name, str) else row.account_id
        _echo(f"  {row.account_id}  {name:<{width}}  {say['risk']} {row.risk:5.1%}  {say['at_risk']} "
              f"{row.revenue_at_risk:>14,.0f}  {row.reason_1}")
    _echo(say["review"].format(text=_review_text(reviewed, result.catalog, lang)))
    _echo(say["report"].format(report=report.resolve(), xlsx=(out / "report.xlsx").resolve(),
                               scores=scores_file.resolve()))
    _echo(say["review_files"].format(html=(out / "review.html").resolve(), xlsx=(out / "review.xlsx").resolve()))
    _echo(say["browse"].format(store=store))
    _echo(say["again"].format(store=store, data=data, date=f"{latest:%Y-%m-%d}"))


_DEMO_EN = {
    "book": "Book: AccountData({accounts} accounts, {orders} orders, {events} events, {start} to {end})",
    "early": "Early warning among accounts that had not yet decided: AUC {model:.3f} (the simulator's oracle "
             "{oracle:.3f}, recency {recency:.3f}).",
    "fidelity": "Reason fidelity: cause_family = planted cause for {share:.0%} of {rows} high-band accounts deciding "
                "within the horizon (the oracle's own cause: {oracle:.0%}).",
    "mlflow": "\nMLflow: {message}",
    "scored": "\nScored {n} accounts as of {date} ({unscorable} unscorable); revenue at risk {at_risk:,.0f}. "
              "The 10 with the most revenue at risk:",
    "risk": "risk", "at_risk": "at risk",
    "review": "\nReview of the lost accounts: {text}",
    "report": "\nReport: {report} (and {xlsx}); scores: {scores}",
    "review_files": "Review: {html} (and {xlsx})",
    "browse": "Browse the MLflow runs: mlflow ui --backend-store-uri {store}",
    "again": "Score again with this model: MLFLOW_TRACKING_URI={store} kamrisk score {data} --as-of {date} "
             "--model models:/kamrisk@champion --out scores.xlsx",
}
_DEMO_ZH = {
    "book": "数据：{accounts} 家客户，{orders} 条订单，{events} 条事件，{start} 至 {end}",
    "early": "尚未决定流失的客户中的早期预警：AUC {model:.3f}（模拟器真值 {oracle:.3f}，近期基线 {recency:.3f}）。",
    "fidelity": "原因准确度：在预测期内决定流失的 {rows} 家高风险客户中，模型所给主因与模拟器设定原因一致的占 "
                "{share:.0%}（模拟器真值自身：{oracle:.0%}）。",
    "mlflow": "\nMLflow 模型注册：{message}",
    "scored": "\n评估日 {date} 已评分客户 {n} 家（{unscorable} 家无法评分）；风险收入 {at_risk:,.0f}。"
              "风险收入最高的 10 家客户：",
    "risk": "风险", "at_risk": "风险收入",
    "review": "\n流失客户复盘：{text}",
    "report": "\n报告：{report}（及 {xlsx}）；评分表：{scores}",
    "review_files": "复盘：{html}（及 {xlsx}）",
    "browse": "浏览 MLflow 运行记录：mlflow ui --backend-store-uri {store}",
    "again": "用此模型重新评分：MLFLOW_TRACKING_URI={store} kamrisk score {data} --as-of {date} "
             "--model models:/kamrisk@champion --lang zh --out scores.xlsx",
}


def _demo_review(book, trained, data: Path, lang: str, out: Path):
    """The review of the last year whose losses the label rule can judge (it needs a horizon of orders)."""
    import pandas as pd

    from ._review import review, write_review

    end = pd.Timestamp(book.end) - pd.Timedelta(days=trained.horizon_days - 1)
    result = review(book, trained, start=end - pd.DateOffset(years=1), end=end, lang=lang,
                    truth=data / "truth.parquet")
    write_review(result, out / "review.html", xlsx=out / "review.xlsx", lang=lang, top=100)
    return result


# -- entry point ---------------------------------------------------------------------------------------
def _quiet_third_parties() -> None:
    """Keep the terminal for kamrisk's own output: MLflow's INFO logs, artifact progress bars and its
    advice to add type hints are noise to a user of the command line."""
    import logging
    import os
    import warnings

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*type hint", category=UserWarning)
    warnings.filterwarnings("ignore", message=".*does not yet fully support pandas")


@app.callback()
def _global_options(
    verbose: Annotated[bool, typer.Option("--verbose", help="On an error, also print its details: the chain of "
                                                          "causes and the traceback.")] = False,
) -> None:
    """Which key accounts are about to defect, why, and what to do about it."""


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exit 1 with ``Error: ...`` on a user's mistake (``--verbose`` adds the details)."""
    from typer import Abort

    try:  # recent typer vendors click; older versions use the click package
        from typer._click.exceptions import ClickException
    except ImportError:  # pragma: no cover
        from click.exceptions import ClickException

    _quiet_third_parties()
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = "--verbose" in argv  # accepted anywhere: `kamrisk train DATA --verbose` as well
    argv = [a for a in argv if a != "--verbose"]
    if verbose:  # third parties (mlflow's warnings and logs) may speak too
        import os

        os.environ["KAMRISK_VERBOSE"] = "1"
    try:
        app(args=argv, standalone_mode=False)
    except KamriskError as exc:
        if verbose:
            import traceback

            typer.echo("".join(traceback.format_exception(exc)).rstrip(), err=True)
        typer.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except Abort:
        typer.echo("Aborted.", err=True)
        sys.exit(1)
    except ClickException as exc:  # bad option, missing argument, bad value
        if type(exc).__name__ == "NoArgsIsHelpError":  # plain `kamrisk`: the help was printed
            sys.exit(0)
        typer.echo(f"Error: {exc.format_message()}", err=True)
        sys.exit(1)
    except FileNotFoundError as exc:
        typer.echo(f"Error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
