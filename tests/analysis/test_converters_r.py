"""Converters to r and back (analysis.engine.converters), against hand computations: the
arithmetic is in the comments; the sources are in docs/extraction.md."""

import math

import pytest

from analysis.engine import MetaAnalysisError
from analysis.engine import converters as cv


def test_r_from_d_equal_and_unequal_groups():
    # 0.5 / sqrt(0.25 + 4) = 0.5 / sqrt(17/4) = 1/sqrt(17)
    assert cv.r_from_d(0.5) == pytest.approx(1 / math.sqrt(17), rel=1e-15)
    assert cv.r_from_d(0.5, 20, 20) == pytest.approx(1 / math.sqrt(17), rel=1e-15)
    # a = 40^2 / (30 * 10) = 16/3; 0.5 / sqrt(1/4 + 16/3) = 0.5 / sqrt(67/12) = sqrt(3/67)
    assert cv.r_from_d(0.5, 30, 10) == pytest.approx(math.sqrt(3 / 67), rel=1e-15)
    assert cv.r_from_d(-0.5) == pytest.approx(-1 / math.sqrt(17), rel=1e-15)


def test_d_from_r_inverts_r_from_d():
    # 2 (1/sqrt 17) / sqrt(1 - 1/17) = (2/sqrt 17) / (4/sqrt 17) = 0.5
    assert cv.d_from_r(1 / math.sqrt(17)) == pytest.approx(0.5, rel=1e-15)
    assert cv.d_from_r(cv.r_from_d(1.3, 12, 40), 12, 40) == pytest.approx(1.3, rel=1e-14)


def test_r_from_odds_ratio():
    # ln OR = pi/sqrt(3) gives d = 1, and r = 1/sqrt(1 + 4) = 1/sqrt(5)
    assert cv.r_from_log_or(math.pi / math.sqrt(3)) == pytest.approx(1 / math.sqrt(5), rel=1e-15)
    assert cv.r_from_or(math.exp(math.pi / math.sqrt(3))) == pytest.approx(
        1 / math.sqrt(5), rel=1e-14
    )
    assert cv.r_from_or(1) == 0.0


def test_r_from_t_f_and_chi2():
    assert cv.r_from_t(2, 12) == pytest.approx(0.5, rel=1e-15)  # 2 / sqrt(4 + 12)
    assert cv.r_from_t(-2, 12) == pytest.approx(-0.5, rel=1e-15)
    assert cv.r_from_f(4, 12, sign=-1) == pytest.approx(-0.5, rel=1e-15)  # -sqrt(4 / 16)
    assert cv.r_from_chi2(9, 100, sign=1) == pytest.approx(0.3, rel=1e-15)  # sqrt(9 / 100)


def test_r_from_beta_peterson_and_brown():
    assert cv.r_from_beta(0.2) == pytest.approx(0.25, rel=1e-15)  # 0.2 + 0.05
    assert cv.r_from_beta(-0.2) == pytest.approx(-0.2, rel=1e-15)  # lambda = 0
    assert cv.r_from_beta(0) == pytest.approx(0.05, rel=1e-15)


def test_biserial_and_point_biserial():
    # equal groups: p = 1/2, z_p = 0, phi(0) = 1/sqrt(2 pi); r_b = r_pb (1/2) sqrt(2 pi)
    #             = r_pb sqrt(pi/2)
    assert cv.biserial_from_point_biserial(0.4, 25, 25) == pytest.approx(
        0.4 * math.sqrt(math.pi / 2), rel=1e-15
    )
    r_b = cv.biserial_from_point_biserial(0.3, 10, 40)
    assert cv.point_biserial_from_biserial(r_b, 10, 40) == pytest.approx(0.3, rel=1e-14)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cv.r_from_beta(0.5), "between -0.5 and 0.5"),
        (lambda: cv.r_from_or(0), "odds ratio must be greater than 0"),
        (lambda: cv.r_from_d(0.5, 10, None), "both group sizes"),
        (lambda: cv.r_from_f(-1, 10, sign=1), "cannot be negative"),
        (lambda: cv.r_from_f(4, 10, sign=0), "sign must be"),
        (lambda: cv.r_from_chi2(20, 10, sign=1), "cannot exceed the number of observations"),
        (lambda: cv.r_from_t(1, 0), "degrees of freedom must be greater than 0"),
        (lambda: cv.d_from_r(1), "strictly between -1 and 1"),
        (lambda: cv.biserial_from_point_biserial(0.9, 2, 98), "outside \\(-1, 1\\)"),
    ],
)
def test_impossible_input_is_refused(call, message):
    with pytest.raises(MetaAnalysisError, match=message):
        call()


def test_biserial_matches_metafor_rbis():
    # metafor 3.8-1: escalc("RPB"/"RBIS", m1i=10, m2i=8, sd1i=3, sd2i=2.5, n1i=12, n2i=40) gives
    # r_pb = 0.311848774419062 and r_b = 0.431896857778791
    assert cv.biserial_from_point_biserial(0.311848774419062, 12, 40) == pytest.approx(
        0.431896857778791, rel=1e-13
    )
