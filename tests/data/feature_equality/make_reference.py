# Wrote the reference with the feature code of main at 212c94b (before the speed rewrite); run from the repository root.
import warnings
from pathlib import Path

import pandas as pd

import kamrisk

warnings.simplefilter('ignore')
out = Path("tests/data/feature_equality")
b = kamrisk.simulate(accounts=150, months=24, seed=5, messy=True)
d = b.to_account_data()
orders = d.orders.copy()
# a few unknown lines so the "no known line" paths run
orders.loc[orders.index[::37], "category"] = pd.NA
orders.loc[orders.index[::41], "product"] = pd.NA
events = d.events.drop(columns=["note"])
accounts = d.accounts.drop(columns=["name", "owner"])
orders.to_parquet(out / "orders.parquet", index=False)
events.to_parquet(out / "events.parquet", index=False)
accounts.to_parquet(out / "accounts.parquet", index=False)
as_of = pd.date_range("2023-09-01", "2024-12-01", freq="3MS").append(pd.DatetimeIndex(["2024-12-15"]))
data = kamrisk.AccountData(orders=orders, events=events, accounts=accounts)
f = kamrisk.build_features(data, as_of)
f.reset_index().to_parquet(out / "features.parquet", index=False)
data2 = kamrisk.AccountData(orders=orders.drop(columns=["category"]), events=events, accounts=accounts)
g = kamrisk.build_features(data2, as_of, families=["shrinking_orders"])
g = g[[c for c in g.columns if "lines" in c]]
g.reset_index().to_parquet(out / "features_by_product.parquet", index=False)
print(f.shape, g.shape, list(as_of))
