"""Goal gradient on a stamp card (Kivetz, Urminsky & Zheng 2006, JMR).

Kivetz et al. found inter-purchase times about 20% shorter between the first
and the last stamp of a ten-stamp coffee card. The engine's intervals by card
progress mix the goal gradient with selection (fast buyers reach late stamps
more often within the horizon), so the test compares the same customers, on the
same random numbers, with the gradient at its default and at zero: the ratio of
(last-stamp interval / first-stamp interval) between the two runs isolates it.
"""
import pytest
import numpy as np

from conftest import small
from sim.work import run_models


def _intervals(sc, gg, replication=5):
    arm = sc.with_overrides({"programme.points.behaviour.goal_gradient": gg})
    m = run_models(sc, {"card": arm}, replication)["card"]
    s = m.mechanic("points").summary()
    return np.array(s["goal_gradient_interval_by_progress"]), np.array(s["goal_gradient_orders_by_progress"])


@pytest.mark.slow  # 4 s measured: out of the fast tier (-m 'not slow')
def test_intervals_shrink_towards_the_reward_as_kivetz_reports():
    # the card's holders (Kivetz et al. studied members): everyone takes a card at their next visit
    sc = small("coffee_stamp_card.yaml", "programme.enrolment.share=1", "programme.enrolment.months_to_half=0",
               customers=6000, days=365, history=180)
    default = sc.cfg.programme.points.behaviour.goal_gradient
    # the default is the schema's, derived from the value form: the scenario must not pin it
    from sim.mechanics.points import Points
    assert default == Points.SCHEMA.fields["behaviour"].fields["goal_gradient"].default
    with_gg, n = _intervals(sc, default)
    without, n0 = _intervals(sc, 0.0)
    # Position k = the wait for the (k+1)-th stamp: 1 is first-to-second stamp, 9 the last.
    # About 8-12k intervals per position; on common random numbers the paired ratio
    # of ratios is known to about 2%, so the band (Kivetz: ~0.8) is several SE wide.
    assert n[1] > 5000 and n[9] > 5000
    effect = (with_gg[9] / with_gg[1]) / (without[9] / without[1])
    assert 0.72 < effect < 0.88, effect
    # the gradient moves purchases across the card and adds no lift by itself: the second half
    # is faster than without it, the first half slower
    ratio = with_gg / without
    assert ratio[5:10].mean() < 1.0 < ratio[1:5].mean()
