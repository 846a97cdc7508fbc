"""kamrisk on Spark, for books that outgrow one machine: features from Spark tables, scores with the model.

- :func:`build_features` takes the canonical tables (``orders``, ``events``, ``accounts``) as Spark
  DataFrames and returns the same rows and columns as :func:`kamrisk.build_features` (categoricals as
  strings, ``as_of`` as a date). Accounts are hashed into groups (partitions); each group's facts reach
  Python as Arrow batches and the pandas builder runs once for its accounts (``mapInArrow``). The few
  book-wide signs (revenue rank and top-20% flag among the active accounts, peer contagion by segment and
  region) are then finished in Spark from what each account contributes.
- :func:`score` adds the registered pyfunc model's whole answer (status, stage, risk, band, reasons, cause,
  action, contributions, what-ifs, model version and question) as a struct column, through
  :func:`mlflow.pyfunc.spark_udf` in the executors' Python environment; each Python worker loads the model
  once, and each Arrow batch (``spark.sql.execution.arrow.maxRecordsPerBatch``) pays the per-call costs once.
- :func:`local_session` starts a local SparkSession with settings that suit kamrisk (tests, laptops).

This is the only kamrisk module that imports pyspark (``pip install 'kamrisk[spark]'``).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._errors import ConfigError, DataError, ModelError

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, DataFrame, SparkSession

    from ._catalog import Catalog

__all__ = ["build_features", "score", "local_session", "RESULT_FIELDS", "ARROW_BATCH_ROWS"]

# Spark's Python workers run the interpreter that runs the driver unless the cluster says otherwise
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

#: The fields of the struct :func:`score` adds that every kamrisk model answers, with their Spark types;
#: ``contrib_<family>`` and ``whatif_<family>`` (doubles) follow for the families of the model's catalog,
#: in the order of the pyfunc answer (the model's output signature).
RESULT_FIELDS: tuple[tuple[str, str], ...] = (
    ("status", "string"),
    ("status_reason", "string"),
    ("stage", "string"),
    ("risk", "double"),
    ("band", "string"),
    *((name, "string") for k in (1, 2, 3) for name in (f"reason_{k}", f"reason_family_{k}")),
    ("cause_family", "string"),
    ("action", "string"),
    ("model_version", "string"),
    ("horizon_days", "bigint"),
    ("label_kind", "string"),
)
#: Rows per Arrow batch handed to the model (``spark.sql.execution.arrow.maxRecordsPerBatch``) in
#: :func:`local_session`: each batch pays the model's per-call costs once (column checks, category casts,
#: one LightGBM call per what-if family), so batches of tens of thousands of rows keep them negligible.
ARROW_BATCH_ROWS = 50_000

_RANK_KINDS = ("revenue_rank", "revenue_top_flag")  # ranks among the accounts active at as_of
_PEER_KINDS = ("peer_defection_share", "peer_defections")  # counts over the peer group
_TAGS = {"orders": 0, "events": 1, "accounts": 2}
_FREE_TEXT = {"events": ("note",), "accounts": ("name", "owner")}  # no sign reads them: not shipped to workers
_DATED = {"orders": "order_date", "events": "event_date"}  # facts dated at or after the last as_of never count


def local_session(cores: int = 2, *, shuffle_partitions: int = 4, app_name: str = "kamrisk",
                  config: dict[str, str] | None = None) -> SparkSession:
    """A local SparkSession (``local[cores]``, no UI, Arrow on, few shuffle partitions, Arrow batches of
    :data:`ARROW_BATCH_ROWS` rows), bound to 127.0.0.1.

    For a cluster, build your own session (set ``spark.sql.execution.arrow.maxRecordsPerBatch`` to tens of
    thousands for scoring); :func:`build_features` and :func:`score` take any session. ``config`` adds
    settings, e.g. ``{"spark.driver.memory": "4g"}`` for a big book.
    """
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = (
        SparkSession.builder.master(f"local[{int(cores)}]")
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(int(shuffle_partitions)))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH_ROWS))
        .config("spark.driver.bindAddress", "127.0.0.1")
    )
    for key, value in (config or {}).items():  # the caller's settings win
        builder = builder.config(key, str(value))
    return builder.getOrCreate()


# -- features -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    """Which signs the pandas builder computes per account group, and what the book-wide ones need."""

    local: Catalog  # the catalog without the book-wide signs
    feature_ids: tuple[str, ...]  # every sign, catalog order
    categorical: frozenset[str]
    ranks: tuple[tuple[str, str, dict[str, Any]], ...]  # (sign id, kind, resolved params)
    peers: tuple[tuple[str, str, dict[str, Any], int], ...]  # (sign id, kind, resolved params, flag set)
    rank_windows: tuple[int, ...]
    flag_sets: tuple[tuple[int, int, float], ...]  # distinct (window, base, threshold)
    by_columns: tuple[str, ...]  # account attributes the peer groups use
    columns: dict[str, tuple[str, ...]]  # canonical columns carried per table
    slots: dict[str, dict[str, str]]  # per table, canonical column -> column of the combined rows
    has_events: bool

    def output_fields(self) -> list[tuple[str, str]]:
        """(name, Spark type) of each column an account group returns."""
        fields = [("account_id", "string"), ("as_of", "string"), ("_active", "boolean")]
        fields += [(s.id, "string" if s.id in self.categorical else "double") for s in self.local.signs]
        fields += [(f"_net_{w}", "double") for w in self.rank_windows]
        fields += [(f"_by_{c}", "string") for c in self.by_columns]
        for i in range(len(self.flag_sets)):
            fields += [(f"_customer_{i}", "double"), (f"_visible_{i}", "double")]
        return fields

    def output_schema(self) -> str:
        return ", ".join(f"`{name}` {kind}" for name, kind in self.output_fields())

    def arrow_schema(self) -> Any:
        import pyarrow as pa

        types = {"string": pa.string(), "double": pa.float64(), "boolean": pa.bool_()}
        return pa.schema([pa.field(name, types[kind]) for name, kind in self.output_fields()])


def _make_plan(catalog: Catalog, columns: dict[str, tuple[str, ...]], has_events: bool) -> _Plan:
    from ._catalog import Catalog
    from ._features import KINDS

    local, ranks, peers = [], [], []
    flag_sets: list[tuple[int, int, float]] = []
    by_columns: list[str] = []
    for sign in catalog.signs:
        kind = KINDS[sign.kind]
        params = kind.resolve(sign.params)
        if sign.kind in _RANK_KINDS:
            ranks.append((sign.id, sign.kind, params))
        elif sign.kind in _PEER_KINDS:
            flags = (int(params["window"]), int(params["base"]), float(params["threshold"]))
            if flags not in flag_sets:
                flag_sets.append(flags)
            by_columns += [c for c in params["by"] if c not in by_columns]
            peers.append((sign.id, sign.kind, params, flag_sets.index(flags)))
        else:
            local.append(sign)
    return _Plan(
        local=Catalog(local, catalog.families, catalog.hash, catalog.path, catalog.vocabulary),
        feature_ids=tuple(catalog.feature_ids),
        categorical=frozenset(catalog.categorical),
        ranks=tuple(ranks),
        peers=tuple(peers),
        rank_windows=tuple(dict.fromkeys(int(p["window"]) for _, _, p in ranks)),
        flag_sets=tuple(flag_sets),
        by_columns=tuple(by_columns),
        columns=columns,
        slots=_slots(columns),
        has_events=has_events,
    )


def _canonical(orders: DataFrame, events: DataFrame | None, accounts: DataFrame | None, mapping: Any,
               until: pd.Timestamp) -> dict[str, DataFrame]:
    """The tables with the mapping applied, only the canonical columns any sign may read, cast to their
    Spark types, and only the facts dated before ``until`` (the last as_of)."""
    from pyspark.sql import functions as F

    from ._features import KINDS
    from ._features._orders import line_column
    from ._schema import DATE_COLUMNS, IGNORE, NUMBER_COLUMNS, REQUIRED_COLUMNS, TEXT_COLUMNS, apply_mapping

    needed = {column for kind in KINDS.values() for column in kind.columns}
    given = {name: frame for name, frame in (("orders", orders), ("events", events), ("accounts", accounts))
             if frame is not None}
    event_map: dict[str, str] = {}
    if mapping:  # the same renames as AccountData, worked out on empty frames with the Spark column names
        renamed, event_map = apply_mapping({n: pd.DataFrame(columns=f.columns) for n, f in given.items()},
                                            mapping)
        given = {n: f.toDF(*map(str, renamed[n].columns)) for n, f in given.items()}
    out = {}
    for name, frame in given.items():
        missing = [c for c in REQUIRED_COLUMNS[name] if c not in frame.columns]
        if missing:
            raise DataError(f"The Spark {name} table lacks the required column(s) {missing}; "
                              f"it has {frame.columns}.")
        columns = [F.col("account_id").cast("string").alias("account_id")]
        line = line_column(frame.columns)
        for col in (*DATE_COLUMNS[name], *NUMBER_COLUMNS[name], *TEXT_COLUMNS[name]):
            if name == "orders" and col not in ("order_date", "amount", "order_id", line):
                continue  # no sign reads the quantity, the margin, or the product when the category names a line
            if col in frame.columns and (col not in _FREE_TEXT.get(name, ()) or col in needed):
                kind = "date" if col in DATE_COLUMNS[name] else "double" if col in NUMBER_COLUMNS[name] else "string"
                columns.append(F.col(col).cast(kind).alias(col))
        frame = frame.select(*columns)
        if name in _DATED:
            frame = frame.where(F.col(_DATED[name]) < F.lit(until.date()))
        if name == "events" and event_map:
            lookup = F.create_map(*[F.lit(x) for pair in event_map.items() for x in pair])
            trimmed = F.trim(F.col("event_type"))
            frame = frame.withColumn("event_type", F.coalesce(lookup[trimmed], trimmed))
            frame = frame.where(F.col("event_type") != F.lit(IGNORE))
        out[name] = frame
    return out


def _slots(columns: dict[str, tuple[str, ...]]) -> dict[str, dict[str, str]]:
    """Each table's columns -> a shared column of the combined table, by Spark type: dates in ``_d0``,
    ``_d1``..., numbers in ``_n0``..., texts in ``_s0``...; the tables share them (a row holds one table's
    facts), so the combined rows are as narrow as the widest table, not as all tables put together."""
    from ._schema import DATE_COLUMNS, NUMBER_COLUMNS

    out: dict[str, dict[str, str]] = {}
    for name, cols in columns.items():
        used = {"d": 0, "n": 0, "s": 0}
        out[name] = {}
        for col in cols:
            kind = "d" if col in DATE_COLUMNS[name] else "n" if col in NUMBER_COLUMNS[name] else "s"
            out[name][col] = f"_{kind}{used[kind]}"
            used[kind] += 1
    return out


def _arrow_account_data(table: Any, plan: _Plan) -> Any:
    """One partition's facts (an Arrow table of the combined rows) as an AccountData, typed as validation
    leaves a book, without validating again (the caller validated): texts stay Arrow-backed, dates become
    ``datetime64[ns]`` without a Python object per cell, and the account ids are encoded once for every
    table (their codes go to the book, which then needs no pass over the ids)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from ._schema import AccountData

    ids = pc.dictionary_encode(table.column("account_id").combine_chunks())
    distinct = np.asarray(ids.dictionary.to_pylist(), dtype=object)
    codes = pc.fill_null(ids.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    tags = table.column("_table").to_numpy()
    frames: dict[str, pd.DataFrame | None] = {}
    read: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, slots in plan.slots.items():
        rows = np.flatnonzero(tags == _TAGS[name])
        if slots:
            frame = table.select(list(slots.values())).take(pa.array(rows)).to_pandas(date_as_object=False)
            frame.columns = list(slots)
        else:  # accounts without attributes
            frame = pd.DataFrame(index=pd.RangeIndex(len(rows)))
        for col, slot in slots.items():
            if slot.startswith("_d"):
                frame[col] = frame[col].astype("datetime64[ns]")
        ids_of_rows = pd.Categorical.from_codes(codes[rows], distinct)
        frame.insert(0, "account_id", ids_of_rows if name != "accounts" else ids_of_rows.astype(object))
        frames[name] = frame
        if name != "accounts":
            read[name] = (codes[rows], distinct)
    return AccountData.from_validated(frames["orders"], frames.get("events"), frames.get("accounts"),
                                      account_codes=read)


def _group_features(data: Any, *, plan: _Plan, as_of: pd.DatetimeIndex, active_days: int) -> pd.DataFrame:
    """Features of one partition's accounts (all (account, as_of) rows that are active, or that count for
    peers)."""
    from ._features import build_features as pandas_build_features
    from ._features._base import Context
    from ._features._contagion import defection_flags

    ctx = Context(data, as_of, active_days)
    active = ctx.active_all
    keep = active.copy()
    columns: dict[str, Any] = {
        "account_id": ctx.account_ids.to_numpy(dtype=object)[ctx.all_codes],
        "as_of": np.tile(as_of.strftime("%Y-%m-%d").to_numpy(dtype=object), ctx.n_accounts),
        "_active": active,
    }
    if plan.local.signs:
        local = pandas_build_features(data, as_of, catalog=plan.local, active_days=active_days)
        for sign in plan.local.signs:
            if sign.id in plan.categorical:
                values = np.full(len(active), None, dtype=object)
                cat = local[sign.id]
                values[active] = cat.astype(object).where(cat.notna(), None).to_numpy(dtype=object)
            else:
                values = np.full(len(active), np.nan)
                values[active] = local[sign.id].to_numpy(dtype=float)
            columns[sign.id] = values
    for window in plan.rank_windows:
        values = np.full(len(active), np.nan)
        values[active] = ctx.order_sum("net", window)
        columns[f"_net_{window}"] = values
    for col in plan.by_columns:
        if col in data.accounts:
            attribute = data.accounts[col].astype(object)
            attribute = attribute.where(attribute.notna(), None).to_numpy(dtype=object)
        else:
            attribute = np.full(ctx.n_accounts, None, dtype=object)
        columns[f"_by_{col}"] = attribute[ctx.all_codes]
    for i, (window, base, threshold) in enumerate(plan.flag_sets):
        customer, visible = defection_flags(ctx, window, base, threshold)
        columns[f"_customer_{i}"], columns[f"_visible_{i}"] = customer, visible
        keep |= customer > 0
    return pd.DataFrame(columns).loc[keep].reset_index(drop=True)


def _book_wide(plan: _Plan) -> dict[str, Column]:
    """The book-wide signs as Spark expressions over the per-account rows (active or counting for peers)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    out: dict[str, Column] = {}
    for sign_id, kind, params in plan.ranks:
        net = F.col(f"_net_{int(params['window'])}")  # null on the rows that are not active
        size = F.count(net).over(Window.partitionBy("as_of"))
        # one ordering serves both kinds: the lowest rank of a value and the number of values at or below it
        # (an ordered window's frame runs to the current row's last tie), so the rows are sorted once
        ascending = Window.partitionBy("as_of").orderBy(net.asc_nulls_last())
        lowest, highest = F.rank().over(ascending), F.count(net).over(ascending)
        if kind == "revenue_rank":  # pandas rank(pct=True, method="average") among the active accounts
            out[sign_id] = (lowest + (highest - lowest) / 2) / size
        else:  # revenue_top_flag: rank from the top (method="min") / size <= top
            out[sign_id] = ((size - highest + 1) / size <= float(params["top"]) + 1e-12).cast("double")
    for sign_id, kind, params, flags in plan.peers:
        keys = [F.col(f"_by_{c}") for c in params["by"]]
        group = Window.partitionBy("as_of", *keys)
        known = F.lit(True)
        for key in keys:
            known = known & key.isNotNull()
        customer, visible = F.col(f"_customer_{flags}"), F.col(f"_visible_{flags}")
        peers = F.when(known, F.sum(customer).over(group) - customer)  # the account is not its own peer
        lost = F.when(known, F.sum(visible).over(group) - visible)
        out[sign_id] = lost if kind == "peer_defections" else F.when(peers > 0, lost / peers)
    return out


def build_features(
    spark: SparkSession,
    orders: DataFrame,
    events: DataFrame | None = None,
    accounts: DataFrame | None = None,
    *,
    as_of: Any,
    catalog: Catalog | str | None = None,
    active_days: int = 365,
    mapping: dict[str, Any] | None = None,
    groups: int | None = None,
) -> DataFrame:
    """Every catalog sign for every active account at every as-of date, on Spark.

    The same rows and values as :func:`kamrisk.build_features` on the same (validated) book; categorical
    signs come as strings, ``as_of`` as a date. Nothing is validated again: give tables that passed
    :class:`kamrisk.AccountData` (or were produced to the data contract).

    Parameters
    ----------
    spark : SparkSession
    orders, events, accounts : Spark DataFrame
        The canonical tables (``events`` and ``accounts`` optional); columns outside the contract are
        ignored. Dates may be dates, timestamps or ``YYYY-MM-DD`` strings.
    as_of : date or list-like of dates
    catalog : Catalog or path, optional
        The sign catalog; the shipped one by default.
    active_days : int, default 365
    mapping : dict, optional
        ``{"columns": {...}, "event_types": {...}}`` as in ``mapping.yaml``: renames the columns and
        translates the event types (``ignore`` drops the event).
    groups : int, optional
        Number of account groups (one pandas call each); by default ``spark.sql.shuffle.partitions``, and
        at least one per core (``defaultParallelism``). Each group holds whole accounts: aim at a few
        thousand accounts per group and at least one group per core.

    Returns
    -------
    Spark DataFrame
        ``account_id``, ``as_of`` and one column per catalog sign in catalog order.

    Examples
    --------
    >>> features = kamrisk.spark.build_features(spark, orders, events, accounts,
    ...                                         as_of=["2025-11-01", "2025-12-01"])  # doctest: +SKIP
    """
    from pyspark.sql import functions as F

    from ._catalog import Catalog, load_catalog
    from ._features import _check_active_days
    from ._features._base import as_of_index

    if not isinstance(catalog, Catalog):
        catalog = load_catalog(catalog)
    dates = as_of_index(as_of)
    active_days = _check_active_days(active_days)
    if groups is None:  # at least one group per core, so that every core builds features
        groups = max(int(spark.conf.get("spark.sql.shuffle.partitions") or 200),
                     int(spark.sparkContext.defaultParallelism))
    if isinstance(groups, bool) or not isinstance(groups, int | np.integer) or groups < 1:
        raise ConfigError(f"groups must be a positive number of account groups, got {groups!r}.")
    tables = _canonical(orders, events, accounts, mapping, dates[-1])
    columns = {name: tuple(c for c in frame.columns if c != "account_id") for name, frame in tables.items()}
    plan = _make_plan(catalog, columns, "events" in tables)
    # one narrow table of every fact, tagged by table, spread over the partitions by account: each partition
    # then holds whole accounts, and one pandas call builds the features of all of them (no sort by group)
    tagged = [
        frame.select(F.lit(_TAGS[name]).cast("tinyint").alias("_table"), "account_id",
                     *[F.col(c).alias(plan.slots[name][c]) for c in columns[name]])
        for name, frame in tables.items()
    ]
    combined = tagged[0]
    for frame in tagged[1:]:
        combined = combined.unionByName(frame, allowMissingColumns=True)
    combined = combined.repartition(int(groups), "account_id")
    schema = plan.output_schema()

    def features_of_partition(batches: Any) -> Any:
        import pyarrow as pa

        batches = [batch for batch in batches if batch.num_rows]
        if not batches:  # a partition without accounts
            return
        table = pa.Table.from_batches(batches)
        data = _arrow_account_data(table, plan)
        del table
        rows = _group_features(data, plan=plan, as_of=dates, active_days=active_days)
        yield from pa.Table.from_pandas(rows, schema=plan.arrow_schema(), preserve_index=False).to_batches()

    rows = combined.mapInArrow(features_of_partition, schema)
    rows = rows.withColumn("as_of", F.to_date("as_of"))
    book_wide = _book_wide(plan)
    rows = rows.select("*", *[expr.alias(name) for name, expr in book_wide.items()])
    return rows.where(F.col("_active")).select("account_id", "as_of", *[F.col(f"`{c}`") for c in plan.feature_ids])


# -- scoring --------------------------------------------------------------------------------------------
_SPARK_TYPES = {"string": "string", "double": "double", "float": "double", "long": "bigint", "integer": "int",
                "boolean": "boolean"}


def _signature(model_uri: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The model's input columns and the result fields (name, Spark type) of its answer, keys left out."""
    from mlflow.models import get_model_info

    signature = get_model_info(model_uri).signature
    if signature is None or signature.inputs is None:
        raise ModelError(f"{model_uri} has no input signature; log it with kamrisk.train.")
    inputs = [(spec.name, str(getattr(spec.type, "name", spec.type))) for spec in signature.inputs.inputs]
    fields = list(RESULT_FIELDS)
    if signature.outputs is not None:
        named = [(spec.name, str(getattr(spec.type, "name", spec.type))) for spec in signature.outputs.inputs]
        answered = {name for name, _ in named}
        lacking = [name for name, _ in RESULT_FIELDS if name not in answered]
        if lacking:
            raise ModelError(f"The signature of {model_uri} does not name the field(s) {lacking} of its answer "
                             "(it was logged by an older kamrisk, or while warnings were errors): retrain it "
                             "with kamrisk train to score it on Spark.")
        keys = ("account_id", "as_of")
        fields = [(name, _SPARK_TYPES.get(kind, "string")) for name, kind in named if name not in keys]
    return inputs, fields


def _model_inputs(spark_df: DataFrame, model_uri: str, specs: list[tuple[str, str]]) -> list[Column]:
    """The model's input columns from ``spark_df``, cast to the signature's types (as_of as a string)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DateType, TimestampNTZType, TimestampType

    missing = [name for name, _ in specs if name not in spark_df.columns]
    if missing:
        raise ModelError(f"The Spark DataFrame lacks the model's input column(s) {missing[:10]}"
                         + (f" and {len(missing) - 10} more" if len(missing) > 10 else "") + ".")
    out = []
    for name, kind in specs:
        column = F.col(f"`{name}`")
        if name == "as_of" and isinstance(spark_df.schema[name].dataType, DateType | TimestampType
                                          | TimestampNTZType):
            column = F.date_format(column, "yyyy-MM-dd")
        elif kind in ("double", "float", "integer", "long", "string", "boolean"):
            column = column.cast(kind if kind != "integer" else "int")
        out.append(column.alias(name))
    return out


def score(
    spark_df: DataFrame,
    model_uri: str = "models:/kamrisk@champion",
    *,
    lang: str = "en",
    reasons: str = "all",
    result_column: str = "kamrisk",
    flatten: bool = False,
    partitions: int | None = None,
) -> DataFrame:
    """Score feature rows on Spark with a kamrisk MLflow model.

    The model runs in :func:`mlflow.pyfunc.spark_udf` (``env_manager="local"``: the executors' Python
    environment, which must have kamrisk installed or shipped with ``--py-files``). Each Python worker
    reads the model and prepares its TreeSHAP tables once and keeps them for every later task; the numba
    kernel is compiled once per machine (numba's on-disk cache). Each Arrow batch pays the model's
    per-call costs once: give ``spark.sql.execution.arrow.maxRecordsPerBatch`` tens of thousands of rows
    (:func:`local_session` sets :data:`ARROW_BATCH_ROWS`).

    Parameters
    ----------
    spark_df : Spark DataFrame
        Feature rows as the pyfunc model takes them: ``account_id``, ``as_of`` (a date, timestamp or
        ``YYYY-MM-DD`` string) and the feature columns (categoricals as strings), e.g. the output of
        :func:`build_features`. Other columns are carried along.
    model_uri : str, default ``"models:/kamrisk@champion"``
        Any MLflow model URI; ``models:/`` URIs are looked up in the current MLflow registry
        (``MLFLOW_TRACKING_URI`` or :func:`mlflow.set_registry_uri`).
    lang : ``"en"`` or ``"zh"``
        Language of the reasons and actions.
    reasons : ``"all"``, ``"at_risk"`` or ``"none"``
        Explain every row, only rows in the high and medium bands, or none (risk and band only).
    result_column : str, default ``"kamrisk"``
        Name of the struct column added.
    flatten : bool, default False
        Add the struct's fields as columns instead of the struct.
    partitions : int, optional
        Spread the rows evenly over this many partitions first (a round-robin repartition), e.g. the
        cluster's cores when ``spark_df`` comes in fewer partitions than there are cores. By default the
        rows are scored where they are.

    Returns
    -------
    Spark DataFrame
        The input with ``result_column``: a struct with the pyfunc model's answer besides the keys:
        ``status`` (``scored`` or ``unscorable``), ``status_reason``, ``stage``, ``risk`` (double, missing
        where unscorable), ``band``, ``reason_1..3`` and ``reason_family_1..3``, ``cause_family``,
        ``action`` (strings; ``""`` where there is none), ``contrib_<family>`` and ``whatif_<family>``
        (doubles), ``model_version``, ``horizon_days`` (long) and ``label_kind``.

    Raises
    ------
    ModelError
        The model has no signature, lacks an input column, or was logged by a kamrisk that answered
        fewer fields.

    Examples
    --------
    >>> scored = kamrisk.spark.score(features, "models:/kamrisk@champion", lang="zh")  # doctest: +SKIP
    >>> scored.select("account_id", "kamrisk.risk", "kamrisk.reason_1").show()  # doctest: +SKIP
    """
    import mlflow.pyfunc
    from pyspark.sql import functions as F

    from ._options import check_lang, check_reasons

    lang, reasons = check_lang(lang), check_reasons(reasons)
    if partitions is not None and (isinstance(partitions, bool) or not isinstance(partitions, int | np.integer)
                                   or partitions < 1):
        raise ConfigError(f"partitions must be a positive number of partitions, got {partitions!r}.")
    specs, fields = _signature(model_uri)
    inputs = _model_inputs(spark_df, model_uri, specs)
    result_type = ", ".join(f"`{name}` {kind}" for name, kind in fields)
    udf = mlflow.pyfunc.spark_udf(spark_df.sparkSession, model_uri, result_type=result_type,
                                  env_manager="local", params={"lang": lang, "reasons": reasons})
    if partitions is not None:
        spark_df = spark_df.repartition(int(partitions))
    answer = udf(F.struct(*inputs))
    # spark_udf casts string fields with astype(str), so a missing text (the band, reasons and cause of an
    # unscorable row) would arrive as "nan": make it missing again, as in the pyfunc answer
    answer = F.struct(*[
        (F.when(answer[name] != F.lit("nan"), answer[name]) if kind == "string" else answer[name]).alias(name)
        for name, kind in fields
    ])
    scored = spark_df.withColumn(result_column, answer)
    if flatten:
        clashes = [name for name, _ in fields if name in spark_df.columns]
        if clashes:
            raise ConfigError(f"flatten=True would add {clashes}, which the DataFrame already has: drop or "
                              "rename them, or keep the result as a struct (flatten=False).")
        columns = [F.col(f"`{result_column}`.`{name}`").alias(name) for name, _ in fields]
        scored = scored.select(*[F.col(f"`{c}`") for c in spark_df.columns], *columns)
    return scored
