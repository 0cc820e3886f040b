"""The tabular path: CSV reading with missing values, encoding fitted on the training rows only
(against scikit-learn's imputer / scaler / one-hot pipeline), stratified splits, class weights,
and the Palmer penguins table shipped by palmerpenguins."""
from __future__ import annotations

import numpy as np
import pytest

from jaxml.data.tabular_csv import load_penguins, read_csv_table
from jaxml.data.tabular_prep import TabularEncoder, class_weights, encode_splits, stratified_split

CSV = """height, colour ,weight,code,label
1.5,red,70,1,yes
NA,blue,,2,no
2.0,,80,1,yes
1.0,red,?,3,no
0.5,green,50,2,
3.0,blue,90,1,no
"""


def write(tmp_path, text=CSV, name="t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_csv_types_missing_and_labels(tmp_path):
    t = read_csv_table(write(tmp_path), "label", categorical=["code"])
    assert t.dropped_rows == 1 and t.num_rows == 5             # the row with no label
    assert t.class_names == ("no", "yes") and t.labels.tolist() == [1, 0, 1, 0, 0]
    assert t.kinds == {"height": "numeric", "colour": "categorical", "weight": "numeric", "code": "categorical"}
    np.testing.assert_array_equal(t.columns["height"], [1.5, np.nan, 2.0, 1.0, 3.0])
    np.testing.assert_array_equal(t.columns["weight"], [70, np.nan, 80, np.nan, 90])
    assert t.columns["colour"].tolist() == ["red", "blue", None, "red", "blue"]
    assert t.missing_counts() == {"height": 1, "colour": 1, "weight": 2, "code": 0}
    assert read_csv_table(write(tmp_path), "label", drop=["code"]).kinds["weight"] == "numeric"
    assert "code" not in read_csv_table(write(tmp_path), "label", drop=["code"]).columns


def test_read_csv_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        read_csv_table(tmp_path / "nope.csv", "label")
    with pytest.raises(ValueError, match="'target'.*columns"):
        read_csv_table(write(tmp_path), "target")
    with pytest.raises(ValueError, match="line 3 has 2 cells"):
        read_csv_table(write(tmp_path, "a,b,label\n1,2,x\n1,2\n", "bad.csv"), "label")
    with pytest.raises(ValueError, match="at least 2"):
        read_csv_table(write(tmp_path, "a,label\n1,x\n2,x\n", "one.csv"), "label")
    with pytest.raises(ValueError, match="drop"):
        read_csv_table(write(tmp_path), "label", drop=["nope"])


def test_encoder_matches_sklearn_pipeline_fitted_on_train_rows(tmp_path):
    sk_impute = pytest.importorskip("sklearn.impute")
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(0)
    n = 60
    h = rng.normal(170, 10, n).round(1)
    h[rng.random(n) < 0.2] = np.nan
    w = rng.normal(70, 5, n).round(1)
    colour = rng.choice(["red", "blue", "green", "NA"], n)
    label = rng.choice(["a", "b"], n)
    lines = ["h,w,colour,label"] + [f"{'NA' if np.isnan(a) else a},{b},{c},{d}" for a, b, c, d in
                                    zip(h, w, colour, label)]
    t = read_csv_table(write(tmp_path, "\n".join(lines) + "\n", "big.csv"), "label")
    train, test = np.arange(40), np.arange(40, 60)
    enc = TabularEncoder.fit(t.take(train))
    got = {name: enc.transform(t.take(test))[:, i] for i, name in enumerate(enc.feature_names)}
    assert enc.feature_names == ("h", "h_missing", "w", "colour=blue", "colour=green", "colour=red",
                                 "colour=missing")
    # scikit-learn, fitted on the same training rows.
    imp = sk_impute.SimpleImputer(strategy="median", add_indicator=True).fit(h[train, None])
    hh = imp.transform(h[:, None])
    scaler = StandardScaler().fit(hh[train, :1])
    np.testing.assert_allclose(got["h"], scaler.transform(hh[test, :1])[:, 0], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got["h_missing"], hh[test, 1])
    ws = StandardScaler().fit(w[train, None])
    np.testing.assert_allclose(got["w"], ws.transform(w[test, None])[:, 0], rtol=1e-5, atol=1e-5)
    cats = np.where(colour == "NA", "missing", colour)[:, None]
    ohe = OneHotEncoder(handle_unknown="ignore").fit(cats[train])
    ref = ohe.transform(cats[test]).toarray()
    for j, cat in enumerate(ohe.categories_[0]):
        np.testing.assert_array_equal(got[f"colour={cat}"], ref[:, j])
    # Statistics come from the training rows only: changing a test row changes nothing else.
    assert enc.transform(t.take(train))[:, 0].mean() == pytest.approx(0.0, abs=1e-5)
    assert abs(float(got["h"].mean())) > 1e-3


def test_unseen_category_and_new_missing_cell_encode_as_zeros(tmp_path):
    t = read_csv_table(write(tmp_path), "label", categorical=["code"])
    enc = TabularEncoder.fit(t.take([0, 3, 4]))      # rows: red/1.5/70/1, red/1.0/NA/3, blue/3.0/90/1
    assert enc.feature_names == ("height", "colour=blue", "colour=red", "weight", "weight_missing", "code=1",
                                 "code=3")
    x = enc.transform(t.take([1, 2]))                # blue/NA/NA/2 and missing colour/2.0/80/1
    cols = dict(zip(enc.feature_names, x.T))
    assert cols["code=1"].tolist() == [0, 1] and cols["code=3"].tolist() == [0, 0]    # code 2 unseen
    assert cols["colour=blue"].tolist() == [1, 0] and cols["colour=red"].tolist() == [0, 0]
    train_h = np.array([1.5, 1.0, 3.0])
    assert cols["height"][0] == pytest.approx((1.5 - train_h.mean()) / train_h.std(), rel=1e-5)  # median 1.5
    assert cols["weight_missing"].tolist() == [1, 0]
    grouped = enc.group_by_source(np.arange(enc.num_features))
    assert {k: v.tolist() for k, v in grouped.items()} == {"height": [0], "colour": [1, 2], "weight": [3, 4],
                                                           "code": [5, 6]}
    with pytest.raises(ValueError, match="expected 7 rows"):
        enc.group_by_source(np.zeros(3))


def test_stratified_split_is_seeded_disjoint_and_proportional():
    y = np.array([0] * 50 + [1] * 30 + [2] * 20)
    a = stratified_split(y, (0.6, 0.2), seed=3)
    b = stratified_split(y, (0.6, 0.2), seed=3)
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(a[0], stratified_split(y, (0.6, 0.2), seed=4)[0])
    np.testing.assert_array_equal(np.sort(np.concatenate(a)), np.arange(100))
    assert [np.bincount(y[p], minlength=3).tolist() for p in a] == [[30, 18, 12], [10, 6, 4], [10, 6, 4]]
    with pytest.raises(ValueError, match="fractions"):
        stratified_split(y, (0.7, 0.4))


def test_class_weights_match_sklearn_balanced():
    utils = pytest.importorskip("sklearn.utils")
    y = np.array([0] * 50 + [1] * 30 + [2] * 5)
    ref = utils.compute_class_weight("balanced", classes=np.arange(3), y=y)
    np.testing.assert_allclose(class_weights(y, 3), ref, rtol=1e-6)
    with pytest.raises(ValueError, match=r"\[3\]"):
        class_weights(y, 4)


def test_penguins_ship_offline_with_categories_and_missing_values():
    pytest.importorskip("palmerpenguins")
    t = load_penguins()
    assert t.num_rows == 344 and t.class_names == ("Adelie", "Chinstrap", "Gentoo")
    assert np.bincount(t.labels).tolist() == [152, 68, 124]
    assert t.kinds["island"] == t.kinds["sex"] == "categorical" and t.kinds["body_mass_g"] == "numeric"
    assert t.missing_counts()["sex"] == 11 and t.missing_counts()["bill_length_mm"] == 2
    parts = dict(zip(("train", "val", "test"), stratified_split(t.labels, (0.6, 0.2), seed=0)))
    data, enc = encode_splits(t, parts)
    assert data["train"]["x"].shape == (206, enc.num_features) and data["train"]["x"].dtype == np.float32
    assert "sex=missing" in enc.feature_names and np.isfinite(data["test"]["x"]).all()
