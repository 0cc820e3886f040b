"""MeanStd / mean_std / mean_std_array against hand values and numpy (ddof=1)."""
import math

import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.report.stats import MeanStd, mean_std, mean_std_array


def test_mean_std_hand_values():
    r = mean_std([1.0, 2.0, 3.0, 4.0])
    # mean 2.5; sample variance ((1.5^2 + 0.5^2) * 2) / 3 = 5/3
    assert r.mean == 2.5 and r.n == 4
    assert r.std == pytest.approx(math.sqrt(5 / 3), rel=1e-12)
    assert r.std == pytest.approx(np.std([1, 2, 3, 4], ddof=1), rel=1e-12)
    assert isinstance(r.mean, float) and isinstance(r.std, float)


def test_mean_std_accepts_jax_and_single_value():
    r = mean_std(jnp.array([0.84, 0.85, 0.86], dtype=jnp.float32))
    assert r.mean == pytest.approx(0.85, abs=1e-6) and r.std == pytest.approx(0.01, abs=1e-6)
    assert mean_std([jnp.float32(0.5)]) == MeanStd(0.5, 0.0, 1)  # n == 1: std 0.0, not NaN
    assert mean_std(0.5) == MeanStd(0.5, 0.0, 1)


def test_mean_std_errors():
    with pytest.raises(ValueError, match="mean_std_array"):
        mean_std(np.ones((3, 4)))
    with pytest.raises(ValueError, match="no values"):
        mean_std([])


def test_format():
    assert MeanStd(0.85123, 0.00312, 3).format() == "0.8512 ± 0.0031 (n=3)"
    assert MeanStd(0.85123, 0.00312, 3).format(".2f") == "0.85 ± 0.00 (n=3)"
    assert str(MeanStd(1.0, 0.5, 2)) == "1.0000 ± 0.5000 (n=2)"


def test_mean_std_array_matches_numpy():
    values = np.arange(12.0).reshape(3, 4) ** 1.5
    mean, std = mean_std_array(values)
    np.testing.assert_allclose(mean, values.mean(0))
    np.testing.assert_allclose(std, values.std(0, ddof=1))
    mean1, std1 = mean_std_array(jnp.asarray(values), axis=1)
    assert mean1.shape == std1.shape == (3,)
    np.testing.assert_allclose(std1, values.std(1, ddof=1), rtol=1e-6)
    mean_one, std_one = mean_std_array(values[:1])
    np.testing.assert_array_equal(mean_one, values[0])
    np.testing.assert_array_equal(std_one, np.zeros(4))
    with pytest.raises(ValueError, match="axis 2"):
        mean_std_array(values, axis=2)


def test_mean_band_is_mean_and_sample_std_per_point():
    from jaxml.report.stats import mean_band

    values = np.array([[1.0, 2.0, 4.0], [3.0, 2.0, np.nan]])
    (x, m), (xb, lo, hi) = mean_band(values)
    np.testing.assert_array_equal(x, [1, 2, 3])
    np.testing.assert_array_equal(xb, x)
    np.testing.assert_allclose(m[:2], [2.0, 2.0])
    np.testing.assert_allclose(hi[:2] - m[:2], [math.sqrt(2.0), 0.0])
    np.testing.assert_allclose(m[:2] - lo[:2], [math.sqrt(2.0), 0.0])
    assert np.isnan(m[2])  # a run without that point: no mean there
    assert list(mean_band([[5.0, 6.0]], x=[10, 20])[0][0]) == [10, 20]
