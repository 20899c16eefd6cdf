"""`screening.agreement_selectors`: reviewers' current votes paired, agreement per pair, CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import timezone

from screening.agreement_selectors import (
    CSV_HEADER,
    agreement_by_pair,
    agreement_csv,
    agreement_overall,
    paired_votes,
)
from screening.models import ScreeningDecision
from tests import factories

TA, FT = "title_abstract", "full_text"
TOL = 1e-12


def vote(record, user, verdict, stage=TA, superseded=False):
    return ScreeningDecision.objects.create(
        review=record.review,
        record=record,
        stage=stage,
        reviewer=user,
        verdict=verdict,
        superseded_at=timezone.now() if superseded else None,
    )


def make_records(review, count):
    batch = factories.ImportBatchFactory(source__review=review)
    return [factories.RecordFactory(batch=batch) for _ in range(count)]


@pytest.fixture
def team(review):
    """alice < bob < carol by id, all reviewers of `review`."""
    users = [factories.UserFactory(username=name) for name in ("alice", "bob", "carol")]
    for user in users:
        factories.MembershipFactory(review=review, user=user, role="reviewer")
    return users


@pytest.fixture
def screened(review, team):
    """Dual screening with a third reviewer on some records, superseded votes and noise.

    Title/abstract (A = alice, B = bob, C = carol):
      r1-r6  A exclude, B exclude (B's earlier include on r1 superseded), C exclude on r1
      r7     A include, B include
      r8     A maybe,   B include
      r9     A include, B exclude, C exclude
      r10    A exclude, B maybe,   C include
      r11    A include (superseded: no current vote), B exclude → not paired
      r12    B include only → not paired
    Full text: r7 A include, B include, C include; r8 A include, B exclude, C include.
    """
    alice, bob, carol = team
    r = make_records(review, 12)
    for rec in r[:6]:
        vote(rec, alice, "exclude")
        vote(rec, bob, "exclude")
    vote(r[0], bob, "include", superseded=True)
    vote(r[0], carol, "exclude")
    vote(r[6], alice, "include")
    vote(r[6], bob, "include")
    vote(r[7], alice, "maybe")
    vote(r[7], bob, "include")
    vote(r[8], alice, "include")
    vote(r[8], bob, "exclude")
    vote(r[8], carol, "exclude")
    vote(r[9], alice, "exclude")
    vote(r[9], bob, "maybe")
    vote(r[9], carol, "include")
    vote(r[10], alice, "include", superseded=True)
    vote(r[10], bob, "exclude")
    vote(r[11], bob, "include")
    for user, verdicts in ((alice, ("include", "include")), (bob, ("include", "exclude"))):
        vote(r[6], user, verdicts[0], stage=FT)
        vote(r[7], user, verdicts[1], stage=FT)
    vote(r[6], carol, "include", stage=FT)
    vote(r[7], carol, "include", stage=FT)
    # Another review's votes by the same people are not this review's.
    other = factories.ReviewFactory()
    (stray,) = make_records(other, 1)
    vote(stray, alice, "include")
    vote(stray, bob, "exclude")
    return r


def test_paired_votes_in_one_query(review, team, screened, django_assert_num_queries):
    alice, bob, carol = team
    with django_assert_num_queries(1):
        pairs = paired_votes(review, TA)
    assert list(pairs) == [(alice.pk, bob.pk), (alice.pk, carol.pk), (bob.pk, carol.pk)]
    assert pairs[(alice.pk, bob.pk)] == [("exclude", "exclude")] * 6 + [
        ("include", "include"),
        ("maybe", "include"),
        ("include", "exclude"),
        ("exclude", "maybe"),
    ]
    assert pairs[(alice.pk, carol.pk)] == [
        ("exclude", "exclude"),
        ("include", "exclude"),
        ("exclude", "include"),
    ]
    assert pairs[(bob.pk, carol.pk)] == [
        ("exclude", "exclude"),
        ("exclude", "exclude"),
        ("maybe", "include"),
    ]
    assert paired_votes(review, FT) == {
        (alice.pk, bob.pk): [("include", "include"), ("include", "exclude")],
        (alice.pk, carol.pk): [("include", "include"), ("include", "include")],
        (bob.pk, carol.pk): [("include", "include"), ("exclude", "include")],
    }


def test_no_votes_no_pairs(review, team):
    (record,) = make_records(review, 1)
    vote(record, team[0], "include")  # a single vote pairs with nobody
    assert paired_votes(review, TA) == {}
    assert agreement_by_pair(review, TA) == []
    assert agreement_overall(review, TA) is None


def test_unknown_stage_is_rejected(review):
    with pytest.raises(ValueError, match="unknown stage"):
        paired_votes(review, "eligibility")


def test_agreement_by_pair_binary(review, team, screened):
    by_pair = agreement_by_pair(review, TA)
    assert [(p.reviewer_a, p.reviewer_b, p.n) for p in by_pair] == [
        ("alice", "bob", 10),
        ("alice", "carol", 3),
        ("bob", "carol", 3),
    ]
    assert [(p.reviewer_a_id, p.reviewer_b_id) for p in by_pair] == [
        (team[0].pk, team[1].pk),
        (team[0].pk, team[2].pk),
        (team[1].pk, team[2].pk),
    ]
    ab, ac, bc = (p.stats for p in by_pair)
    # alice-bob, maybe → include: I/I 2 (r7, r8), I/E 1 (r9), E/I 1 (r10), E/E 6
    assert ab.categories == ("include", "exclude")
    assert ab.table == ((2, 1), (1, 6))
    # p_o = 8/10; both include 3/10: p_e = .3² + .7² = .58; κ = .22/.42 = 11/21
    assert ab.observed == pytest.approx(0.8, abs=TOL)
    assert ab.kappa == pytest.approx(11 / 21, abs=TOL)
    # PABAK = 2·.8 - 1 = .6; π = .3, .7: p_g = .42, AC1 = .38/.58 = 19/29
    assert ab.pabak == pytest.approx(0.6, abs=TOL)
    assert ab.ac1 == pytest.approx(19 / 29, abs=TOL)
    # FCE: p_11 = .2, p_12 = .1, p_21 = .1, p_22 = .6, marginals .3/.7 for both,
    # 1 - p_o = .2, 1 - p_e = .42:
    #   diagonal .2·(.42 - .6·.2)² + .6·(.42 - 1.4·.2)² = .018 + .01176 = .02976
    #   off-diagonal .2²·[.1·(.3 + .7)² + .1·(.7 + .3)²] = .008
    #   minus (.8·.58 - 2·.58 + .8)² = .104² = .010816
    #   var = .026944/(10·.42⁴) = .026944/.3111696
    assert ab.kappa_se == pytest.approx((0.026944 / 0.3111696) ** 0.5, abs=TOL)
    # alice-carol: (E,E), (I,E), (E,I): p_o = 1/3; marginals 1/3 include for both:
    # p_e = 1/9 + 4/9 = 5/9; κ = (3/9 - 5/9)/(4/9) = -1/2; PABAK = 2/3 - 1 = -1/3;
    # p_g = 2·(1/3)(2/3) = 4/9, AC1 = (3/9 - 4/9)/(5/9) = -1/5
    assert ac.table == ((0, 1), (1, 1))
    assert ac.kappa == pytest.approx(-0.5, abs=TOL)
    assert ac.pabak == pytest.approx(-1 / 3, abs=TOL)
    assert ac.ac1 == pytest.approx(-0.2, abs=TOL)
    assert ac.kappa_se == pytest.approx(0.09375**0.5, abs=TOL)
    # bob-carol: (E,E), (E,E), (maybe → I, I): perfect agreement
    assert bc.table == ((1, 0), (0, 2))
    assert (bc.kappa, bc.kappa_se, bc.pabak, bc.ac1) == (1.0, 0.0, 1.0, 1.0)


def test_agreement_by_pair_three_verdicts(review, team, screened):
    ab = agreement_by_pair(review, TA, binary=False)[0].stats
    assert ab.categories == ("include", "exclude", "maybe")
    # rows alice: include (r7 I, r9 E), exclude (r1-6 E, r10 M), maybe (r8 I)
    assert ab.table == ((1, 1, 0), (0, 6, 1), (1, 0, 0))
    # p_o = 7/10; marginals 2, 7, 1 for both: p_e = (4 + 49 + 1)/100 = .54; κ = .16/.46 = 8/23
    assert ab.kappa == pytest.approx(8 / 23, abs=TOL)
    # PABAK = (3·.7 - 1)/2 = .55
    assert ab.pabak == pytest.approx(0.55, abs=TOL)
    # π = .2, .7, .1: Σπ(1 - π) = .16 + .21 + .09 = .46; p_g = .23; AC1 = .47/.77
    assert ab.ac1 == pytest.approx(0.47 / 0.77, abs=TOL)


def test_agreement_overall_pools_every_pair(review, team, screened):
    overall = agreement_overall(review, TA)
    # [[2,1],[1,6]] + [[0,1],[1,1]] + [[1,0],[0,2]] = [[3,2],[2,9]], n = 16
    assert overall.n == 16
    assert overall.table == ((3, 2), (2, 9))
    # p_o = 12/16 = .75; marginals 5/16 include: p_e = (25 + 121)/256 = 146/256
    # κ = (192 - 146)/(256 - 146) = 46/110 = 23/55
    assert overall.kappa == pytest.approx(23 / 55, abs=TOL)
    assert overall.pabak == pytest.approx(0.5, abs=TOL)
    # π_include = 10/32: p_g = 2·(10/32)(22/32) = 440/1024; AC1 = (768 - 440)/(1024 - 440)
    assert overall.ac1 == pytest.approx(328 / 584, abs=TOL)
    three = agreement_overall(review, TA, binary=False)
    assert three.n == 16
    assert three.k == 3


def test_full_text_undefined_kappa(review, team, screened):
    ab, ac, bc = (p.stats for p in agreement_by_pair(review, FT))
    # alice-bob: (I,I), (I,E): p_o = .5; alice always includes: p_e = 1·.5 + 0·.5 = .5; κ = 0
    assert ab.kappa == 0.0
    assert ab.kappa_se == 0.0  # the asymptotic SE vanishes when one rater is constant
    # π_include = 3/4: p_g = 2·(3/4)(1/4) = 3/8; AC1 = (1/2 - 3/8)/(5/8) = 1/5
    assert ab.ac1 == pytest.approx(0.2, abs=TOL)
    # alice-carol: both always include: p_e = 1, κ undefined; PABAK 1, AC1 1
    assert ac.kappa is None
    assert (ac.pabak, ac.ac1) == (1.0, 1.0)
    # bob-carol: (I,I), (E,I): the mirror image of alice-bob
    assert bc.kappa == 0.0


def test_agreement_csv_exact(review, team, screened):
    text = agreement_csv(review)
    se_ab = (0.026944 / 0.3111696) ** 0.5  # 0.29426…, see test_agreement_by_pair_binary
    assert f"{11 / 21 - 1.959963984540054 * se_ab:.4f}" == "-0.0529"
    assert text == (
        "stage,reviewer_a,reviewer_b,n,percent_agreement,kappa,kappa_ci_lb,kappa_ci_ub,pabak,ac1\r\n"
        # κ = 11/21, CI clipped at 1, PABAK .6, AC1 19/29
        "title_abstract,alice,bob,10,0.8000,0.5238,-0.0529,1.0000,0.6000,0.6552\r\n"
        # κ = -1/2; FCE with p_12 = p_21 = p_22 = 1/3, marginals 1/3, 2/3, 1 - p_o = 2/3,
        # 1 - p_e = 4/9: diagonal (1/3)(4/9 - (4/3)(2/3))² = 16/243; off-diagonal
        # (4/9)·(1/3 + 1/3) = 8/27; minus (5/27 - 30/27 + 9/27)² = 256/729;
        # var = (8/729)/(3·(4/9)⁴) = 0.09375, SE 0.30619: -0.5 ± 0.6001 → [-1 (clipped), 0.1001]
        # PABAK -1/3, AC1 -1/5
        "title_abstract,alice,carol,3,0.3333,-0.5000,-1.0000,0.1001,-0.3333,-0.2000\r\n"
        "title_abstract,bob,carol,3,1.0000,1.0000,1.0000,1.0000,1.0000,1.0000\r\n"
        "full_text,alice,bob,2,0.5000,0.0000,0.0000,0.0000,0.0000,0.2000\r\n"
        "full_text,alice,carol,2,1.0000,,,,1.0000,1.0000\r\n"
        "full_text,bob,carol,2,0.5000,0.0000,0.0000,0.0000,0.0000,0.2000\r\n"
    )


def test_agreement_csv_header_only_without_pairs(review):
    assert agreement_csv(review) == ",".join(CSV_HEADER) + "\r\n"


@pytest.mark.parametrize(
    ("username", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("a=b", "a=b"),
        ('o\'brien, "jr"', 'o\'brien, "jr"'),
    ],
)
def test_agreement_csv_is_safe_against_formula_injection(review, username, cell):
    plain = factories.UserFactory(username="aaa-first")  # lower id: reviewer_a
    tricky = factories.UserFactory(username=username)
    r1, r2 = make_records(review, 2)
    # disagreement on both records: κ = -1, written as a plain negative number
    vote(r1, plain, "include")
    vote(r1, tricky, "exclude")
    vote(r2, plain, "exclude")
    vote(r2, tricky, "include")
    rows = list(csv.reader(io.StringIO(agreement_csv(review), newline="")))
    assert rows[1] == [
        "title_abstract",
        "aaa-first",
        cell,
        "2",
        "0.0000",
        "-1.0000",
        "-1.0000",
        "-1.0000",
        "-1.0000",
        "-1.0000",
    ]
