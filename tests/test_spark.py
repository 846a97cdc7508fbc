"""kamrisk.spark in local[2] mode: the same features as the pandas builder, the same scores as the pyfunc model."""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")

from conftest import small_recipe  # noqa: E402

import kamrisk  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    # PySpark 4 warns about pandas 3 as a FutureWarning (pyproject ignores the UserWarning form)
    pytest.mark.filterwarnings("ignore:.*does not yet fully support pandas:FutureWarning"),
]

AS_OF = pd.date_range("2024-01-01", "2025-12-01", freq="MS")  # 24 monthly snapshots
KEYS = ["account_id", "as_of"]


@pytest.fixture(scope="session")
def spark():
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    from kamrisk.spark import local_session

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # pandas 3 support notice on session start
        session = local_session(2, shuffle_partitions=4, app_name="kamrisk-tests")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _to_spark(spark, frame: pd.DataFrame):
    """A pandas table as a Spark DataFrame with explicit types (all-missing columns stay typed)."""
    from pyspark.sql.types import DoubleType, StringType, StructField, StructType, TimestampType

    fields, columns = [], {}
    for name, values in frame.items():
        if pd.api.types.is_datetime64_any_dtype(values):
            kind, values = TimestampType(), values.astype(object).where(values.notna(), None)
        elif pd.api.types.is_float_dtype(values):
            kind = DoubleType()
        else:
            kind, values = StringType(), values.astype(object).where(values.notna(), None)
        fields.append(StructField(str(name), kind, True))
        columns[name] = values
    return spark.createDataFrame(pd.DataFrame(columns), schema=StructType(fields))


@pytest.fixture(scope="module")
def features(spark, sim_data):
    """(Spark features as pandas, pandas features) on the simulated book at 24 monthly as_of dates."""
    from kamrisk.spark import build_features

    tables = [_to_spark(spark, getattr(sim_data, name)) for name in ("orders", "events", "accounts")]
    built = build_features(spark, *tables, as_of=AS_OF).cache()
    expected = kamrisk.build_features(sim_data, AS_OF).reset_index()
    yield built, built.toPandas(), expected
    built.unpersist()


@pytest.fixture(scope="module")
def champion(sim_data, tmp_path_factory):
    """The small recipe trained, logged and registered in a SQLite MLflow store: its tracking URI."""
    import mlflow

    before = os.environ.get("MLFLOW_TRACKING_URI")
    uri = f"sqlite:///{tmp_path_factory.mktemp('spark-mlflow')}/mlflow.db"
    result = kamrisk.train(sim_data, small_recipe(), track=True, tracking_uri=uri)
    assert result.registry.alias == "champion"
    yield uri, result
    mlflow.set_tracking_uri(before)
    mlflow.set_registry_uri(before)


def _use(uri: str) -> None:
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.assign(account_id=frame["account_id"].astype(str),
                         as_of=pd.to_datetime(frame["as_of"]).astype("datetime64[ns]"))
    return frame.sort_values(KEYS).reset_index(drop=True)


def _texts(values: pd.Series) -> list:
    return values.astype(object).where(values.notna(), None).tolist()


def _assert_same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same rows and columns; floats within 1e-9 (NaN == NaN), categoricals equal as strings."""
    got, expected = _sorted(got), _sorted(expected)
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected) > 0
    pd.testing.assert_frame_equal(got[KEYS], expected[KEYS])
    for column in expected.columns[2:]:
        want = expected[column]
        if isinstance(want.dtype, pd.CategoricalDtype):
            strings = want.astype(object).where(want.notna(), None).to_numpy()
            assert (got[column].astype(object).where(got[column].notna(), None).to_numpy() == strings).all(), column
        else:
            np.testing.assert_allclose(got[column].to_numpy(float), want.to_numpy(float), rtol=0, atol=1e-9,
                                       equal_nan=True, err_msg=column)


def test_build_features_equals_pandas_row_for_row(features):
    _, got, expected = features
    _assert_same(got, expected)
    # the book-wide signs are really book-wide (not computed within one account group)
    assert got["peer_defections_segment_180d"].max() > 0
    assert set(got["revenue_top20_flag"].unique()) == {0.0, 1.0}


def test_mapping_missing_master_data_and_many_groups(spark):
    """Renamed columns and event types; accounts without orders, without master data or segment."""
    from kamrisk.spark import build_features

    orders = pd.DataFrame({
        "Kunde": ["A", "A", "B", "B", "C", "D"],
        "order_date": pd.to_datetime(["2023-05-01", "2024-05-05", "2023-02-01", "2024-06-01", "2024-03-01",
                                      "2024-07-01"]),
        "amount": [100.0, 50.0, 80.0, 90.0, 5.0, 7.0],
    })
    events = pd.DataFrame({"Kunde": ["A", "A", "B", "D"], "event_date": pd.to_datetime(["2024-03-01"] * 4),
                           "event_type": ["Reklamation", "Besuch", "complaint", "complaint"]})
    accounts = pd.DataFrame({"Kunde": ["A", "B", "X", "Y"], "segment": ["s", "s", "s", None],
                             "region": ["r", "r", "r", "q"]})
    mapping = {"columns": {"Kunde": "account_id"}, "event_types": {"Reklamation": "complaint", "Besuch": "ignore"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kamrisk.DataWarning)
        data = kamrisk.AccountData(orders=orders, events=events, accounts=accounts, mapping=mapping)
    as_of = ["2024-07-01", "2024-10-01"]
    tables = [_to_spark(spark, t) for t in (orders, events, accounts)]
    got = build_features(spark, *tables, as_of=as_of, mapping=mapping, groups=16).toPandas()
    expected = kamrisk.build_features(data, as_of).reset_index()
    _assert_same(got, expected)
    assert _sorted(got)["complaints_365d"].tolist() == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0]  # A, B, C, D


def test_orders_alone_and_accounts_without_attributes(spark):
    """No events table, an accounts table of ids only, orders without order ids: the signs that can be
    built equal the pandas builder's, and every active account comes out, including one with an order
    dated exactly on an as_of (that order does not count at that as_of)."""
    from kamrisk.spark import build_features

    orders = pd.DataFrame({
        "account_id": ["A", "A", "B", "B", "C", "E"],
        "order_date": pd.to_datetime(["2023-05-01", "2024-05-05", "2023-02-01", "2024-07-01", "2024-03-01",
                                      "2024-07-01"]),
        "amount": [100.0, 50.0, 80.0, 90.0, 5.0, 7.0],
        "product": ["p1", "p2", "p1", None, "p3", "p1"],
    })
    accounts = pd.DataFrame({"account_id": ["A", "B", "C", "D"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kamrisk.DataWarning)
        data = kamrisk.AccountData(orders=orders, accounts=accounts)
    as_of = ["2024-07-01", "2024-10-01"]
    got = build_features(spark, _to_spark(spark, orders), None, _to_spark(spark, accounts), as_of=as_of,
                         groups=3).toPandas()
    expected = kamrisk.build_features(data, as_of).reset_index()
    _assert_same(got, expected)
    first = _sorted(got).set_index(KEYS)
    # B's and E's only orders of the year before 2024-07-01 are dated on it: not active there, active later
    july, october = pd.Timestamp("2024-07-01"), pd.Timestamp("2024-10-01")
    assert ("B", july) not in first.index and ("E", july) not in first.index
    assert first.loc[("E", october), "revenue_180d"] == 7.0
    assert first.loc[("B", october), "revenue_180d"] == 90.0
    assert first.loc[("E", october), "days_since_last_order"] == 92.0
    assert sorted(first.index) == [("A", july), ("A", october), ("B", october), ("C", july), ("C", october),
                                   ("E", october)]


def test_score_matches_the_pyfunc_model_in_both_languages(spark, features, champion):
    import mlflow

    from kamrisk.spark import score

    tracking, result = champion
    _use(tracking)
    uri = "models:/kamrisk@champion"
    # the pyfunc input: the pandas features at the last two dates, as_of as text, categoricals as strings
    _, _, expected = features
    rows = expected.loc[expected["as_of"] >= AS_OF[-2]].reset_index(drop=True)
    pyfunc_input = rows.assign(as_of=rows["as_of"].dt.strftime("%Y-%m-%d"))
    for column in result.model.categories_:
        pyfunc_input[column] = pyfunc_input[column].astype(object).where(pyfunc_input[column].notna(), None)
    model = mlflow.pyfunc.load_model(uri)
    spark_rows = _to_spark(spark, pyfunc_input)
    for lang, flatten in (("en", False), ("zh", True)):
        want = model.predict(pyfunc_input, params={"lang": lang, "reasons": "all"})
        scored = score(spark_rows, uri, lang=lang, flatten=flatten, result_column="kamrisk")
        got = (scored if flatten else scored.select(*KEYS, "kamrisk.*")).toPandas()
        assert len(got) == len(want) == len(rows)
        # every column of the pyfunc answer, in its order, after the input's own columns
        assert list(got.columns)[-(len(want.columns) - 2):] == list(want.columns)[2:]
        got, want = _sorted(got[list(want.columns)]), _sorted(want)
        for column in want.columns[2:]:
            if pd.api.types.is_float_dtype(want[column]):
                np.testing.assert_allclose(got[column].to_numpy(float), want[column].to_numpy(float), rtol=0,
                                           atol=1e-12, equal_nan=True, err_msg=f"{lang} {column}")
            elif pd.api.types.is_integer_dtype(want[column]):
                assert got[column].tolist() == want[column].tolist(), (lang, column)
            else:  # texts, missing where the pyfunc answer has none (the band of an unscorable row)
                assert _texts(got[column]) == _texts(want[column]), (lang, column)
        assert (got["reason_1"] != "").any()
        assert {"scored", "unscorable"} <= set(got["status"])  # lapsed accounts say why, without a risk
        gone = got["status"] == "unscorable"
        assert got.loc[gone, "risk"].isna().all() and (got.loc[gone, "status_reason"] != "").all()
        assert set(got["stage"]) >= {"healthy", "lapsed"}
        assert (got["model_version"] == f"run {result.trained.versions['run_id'][:8]}").all()  # as logged
        assert (got["horizon_days"] == result.recipe.horizon_days).all()
        assert any(c.startswith("contrib_") for c in got) and any(c.startswith("whatif_") for c in got)
        if lang == "zh":
            assert got["action"].str.contains(r"[\u4e00-\u9fff]").any()


def test_score_takes_the_spark_feature_builder_output(features, champion):
    """build_features -> score: as_of as a date and extra columns are fine; bad input is named."""
    from pyspark.sql import functions as F

    from kamrisk.spark import score

    _use(champion[0])
    built = features[0]
    frame = built.where(F.col("as_of") == F.lit(AS_OF[-1].date())).limit(20).withColumn("note", F.lit("kept"))
    scored = score(frame, "models:/kamrisk@champion", reasons="none", flatten=True).toPandas()
    assert len(scored) == 20 and (scored["note"] == "kept").all()
    kept = scored["status"] == "scored"
    assert scored.loc[kept, "risk"].between(0, 1).all() and (scored.loc[kept, "reason_1"] == "").all()
    assert set(scored.loc[kept, "band"]) <= {"high", "medium", "low"}
    with pytest.raises(kamrisk.ModelError, match="revenue_90d"):
        score(frame.drop("revenue_90d"), "models:/kamrisk@champion")
    with pytest.raises(kamrisk.OptionError, match="lang"):
        score(frame, "models:/kamrisk@champion", lang="fr")
    with pytest.raises(kamrisk.ConfigError, match=r"\['stage'\]"):
        score(frame.withColumn("stage", F.lit("x")), "models:/kamrisk@champion", flatten=True)


def test_score_spreads_rows_over_partitions_without_losing_any(features, champion):
    """One input partition, scored on four: every row once, the same answers as unpartitioned."""
    from pyspark.sql import functions as F

    from kamrisk.spark import score

    _use(champion[0])
    frame = features[0].where(F.col("as_of") == F.lit(AS_OF[-1].date())).coalesce(1)
    plain = score(frame, "models:/kamrisk@champion", reasons="at_risk", flatten=True)
    spread = score(frame, "models:/kamrisk@champion", reasons="at_risk", flatten=True, partitions=4)
    assert spread.rdd.getNumPartitions() == 4
    got, want = _sorted(spread.toPandas()), _sorted(plain.toPandas())
    assert len(got) == frame.count() > 0
    pd.testing.assert_frame_equal(got, want)
    with pytest.raises(kamrisk.ConfigError, match="partitions"):
        score(frame, "models:/kamrisk@champion", partitions=0)


def _readme_job() -> str:
    """The ``score_book.py`` job README's "On a cluster" section documents."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    return readme.split("with `score_book.py`:\n\n```python\n", 1)[1].split("```", 1)[0]


def test_spark_submit_scores_a_book_with_the_package_as_a_wheel(sim_book, champion, tmp_path):
    """README's cluster recipe in local mode: build the wheel, spark-submit --py-files it with the job, the
    model from the registry; the scores equal the pandas path's and kamrisk ran from the wheel."""
    import subprocess
    from pathlib import Path

    import mlflow

    pytest.importorskip("hatchling")  # the build backend, for a wheel built without network access
    repo = Path(__file__).resolve().parents[1]
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(dist), str(repo)], check=True, capture_output=True, cwd=tmp_path)
    (wheel,) = dist.glob("kamrisk-*.whl")

    tracking, result = champion
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kamrisk.DataWarning)
        data = kamrisk.simulate(accounts=120, months=24, seed=5).to_account_data()
    book = tmp_path / "book"
    book.mkdir()
    for name in ("orders", "events", "accounts"):
        # Spark reads parquet timestamps in micro-, not nanoseconds (pandas' own unit)
        getattr(data, name).to_parquet(book / f"{name}.parquet", index=False, coerce_timestamps="us")
    as_of = (data.end - pd.offsets.MonthBegin(1)).strftime("%Y-%m-%d")
    job = tmp_path / "score_book.py"
    job.write_text(_readme_job(), encoding="utf-8")
    out = tmp_path / "scores"

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SPARK_HOME")}
    env.update(PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1",
               MLFLOW_TRACKING_URI=tracking, PYTHONWARNINGS="ignore")
    submit = Path(sys.executable).with_name("spark-submit")
    done = subprocess.run([str(submit), "--master", "local[2]", "--conf", "spark.ui.enabled=false",
                           "--py-files", str(wheel), str(job), str(book), str(out), as_of],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"({wheel}/kamrisk/__init__.py)" in done.stdout  # the driver imported kamrisk from the wheel

    got = _sorted(pd.read_parquet(out))
    features = kamrisk.build_features(data, as_of).reset_index()
    assert len(got) == len(features) > 0
    rows = features.assign(as_of=features["as_of"].dt.strftime("%Y-%m-%d"))
    for column in result.model.categories_:
        rows[column] = rows[column].astype(object).where(rows[column].notna(), None)
    _use(tracking)
    want = _sorted(mlflow.pyfunc.load_model("models:/kamrisk@champion").predict(rows))
    assert list(got.columns) == list(want.columns)
    np.testing.assert_allclose(got["risk"].to_numpy(float), want["risk"].to_numpy(float), rtol=0, atol=1e-12,
                               equal_nan=True)
    for column in ("status", "stage", "band", "reason_1", "cause_family", "action", "model_version"):
        # the pandas scorer leaves the texts of unscorable rows missing, except in a batch without any
        # scorable row, where they are "" (the job's 200 account groups make such batches): same meaning
        blank = [None if v == "" else v for v in _texts(got[column])]
        assert blank == [None if v == "" else v for v in _texts(want[column])], column
