"""bench.classic without the expensive parts: the CLI, the comparison list and the tables.

Running the benchmark itself compiles a dozen programs, too slow for the suite; its cases are
the library functions tested in tests/classic/, and bench/results/classic.json is its output.
"""
from bench import classic, common


def test_cli_defaults_and_quick_flag():
    args = classic.parse_args([])
    assert (args.repeats, args.quick) == (5, False) and args.out.endswith("results/classic.json")
    assert classic.parse_args(["--quick", "--repeats", "2"]).quick


def test_tables_from_a_result_dict():
    names = {n for _, a, b, _ in classic.PAIRS for n in (a, b)}
    raw = {n: [1.0, 2.0, 3.0] for n in names}
    res = {"seconds": {n: common.spread(t) for n, t in raw.items()},
           "comparisons": [{"numerator": a, "denominator": b, "meaning": m, "ratio": 1.0,
                            "paired": common.ratio(raw[a], raw[b])} for _, a, b, m in classic.PAIRS],
           "details": {"svm": {"test_prediction_agreement": 1.0}},
           "compile_seconds": {"kmeans": 1.5, "grid_svm": {"single": 1.0, "vmapped": 2.0}}}
    text = classic.tables(res)
    assert "| sklearn KMeans / jaxml kmeans | 1.00 |" in text
    assert "single 1.00, vmapped 2.00" in text and "test_prediction_agreement 1.0" in text
