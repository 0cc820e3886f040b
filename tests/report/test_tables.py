"""markdown_table exact output and write_results."""
import numpy as np
import pytest

from jaxml.report.stats import MeanStd
from jaxml.report.tables import markdown_table, write_results


def test_markdown_table_exact():
    rows = [
        {"model": "mlp", "acc": MeanStd(0.85123, 0.00312, 3), "loss": 0.43214, "epochs": 20, "note": "a|b"},
        {"model": "cnn", "acc": MeanStd(0.9, 0.0, 1), "loss": None, "epochs": np.int64(5)},
    ]
    expected = (
        "| model |                   acc |   loss | epochs | note |\n"
        "| ----- | --------------------: | -----: | -----: | ---- |\n"
        "| mlp   | 0.8512 ± 0.0031 (n=3) | 0.4321 |     20 | a\\|b |\n"
        "| cnn   | 0.9000 ± 0.0000 (n=1) |      — |      5 | —    |"
    )
    assert markdown_table(rows) == expected


def test_markdown_table_columns_and_floatfmt():
    rows = [{"b": 1.23456, "a": "x", "c": True}]
    assert markdown_table(rows, ["a", "b"], floatfmt=".2f") == (
        "| a   |    b |\n"
        "| --- | ---: |\n"
        "| x   | 1.23 |"
    )
    assert markdown_table(rows, ["c"]) == "| c    |\n| ---- |\n| True |"
    assert markdown_table([], ["a"]) == "| a   |\n| --- |"
    with pytest.raises(ValueError, match="no rows"):
        markdown_table([])


def test_write_results(tmp_path):
    path = tmp_path / "run" / "results.md"
    table = markdown_table([{"x": 1}])
    assert write_results(path, "Fashion-MNIST MLP", [("Test accuracy", table), ("Notes", "3 seeds.\n")]) == path
    assert path.read_text() == (
        "# Fashion-MNIST MLP\n\n"
        "## Test accuracy\n\n"
        "|   x |\n| --: |\n|   1 |\n\n"
        "## Notes\n\n"
        "3 seeds.\n"
    )
    assert sorted(p.name for p in path.parent.iterdir()) == ["results.md"]
