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
RESULT = ["risk", "band", "reason_1", "reason_2", "reason_3", "reason_family_1", "reason_family_2",
          "reason_family_3", "cause_family", "action"]


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
        got, want = _sorted(got[KEYS + RESULT]), _sorted(want[KEYS + RESULT])
        np.testing.assert_allclose(got["risk"].to_numpy(float), want["risk"].to_numpy(float), rtol=0, atol=1e-12)
        for column in RESULT[1:]:
            assert got[column].tolist() == want[column].astype(str).tolist(), (lang, column)
        assert (got["reason_1"] != "").any()
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
    assert scored["risk"].between(0, 1).all() and (scored["reason_1"] == "").all()
    assert set(scored["band"]) <= {"high", "medium", "low"}
    with pytest.raises(kamrisk.ModelError, match="revenue_90d"):
        score(frame.drop("revenue_90d"), "models:/kamrisk@champion")
    with pytest.raises(kamrisk.ModelError, match="lang"):
        score(frame, "models:/kamrisk@champion", lang="fr")
