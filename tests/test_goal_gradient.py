"""Goal gradient on a stamp card (Kivetz, Urminsky & Zheng 2006, JMR).

Kivetz et al. found inter-purchase times about 20% shorter between the first
and the last stamp of a ten-stamp coffee card. The engine's intervals by card
progress mix the goal gradient with selection (fast buyers reach late stamps
more often within the horizon), so the test compares the same customers, on the
same random numbers, with the gradient at its default and at zero: the ratio of
(last-stamp interval / first-stamp interval) between the two runs isolates it.
"""
import numpy as np

from conftest import small
from sim.engine import LoyaltyModel
from sim.work import launch_base


def _intervals(sc, gg, seed=5):
    base = launch_base(sc, seed)
    prog = dict(sc.cfg.programme)
    prog["points"] = dict(prog["points"])
    from sim.schema import Config
    beh = Config(prog["points"]["behaviour"])
    beh["goal_gradient"] = gg
    prog["points"]["behaviour"] = beh
    prog["points"] = Config(prog["points"])
    m = LoyaltyModel(sc, seed, programme=Config(prog), customers=base).run()
    s = m.mechanic("points").summary()
    return np.array(s["goal_gradient_interval_by_progress"]), np.array(s["goal_gradient_orders_by_progress"])


def test_intervals_shrink_towards_the_reward_as_kivetz_reports():
    sc = small("coffee_stamp_card.yaml", customers=6000, days=365, history=180)
    default = sc.cfg.programme.points.behaviour.goal_gradient
    with_gg, n = _intervals(sc, default)
    without, n0 = _intervals(sc, 0.0)
    # Position k = the wait for the (k+1)-th stamp: 1 is first-to-second stamp, 9 the last.
    # About 8-12k intervals per position; on common random numbers the paired ratio
    # of ratios is known to about 2%, so the band (Kivetz: ~0.8) is several SE wide.
    assert n[1] > 5000 and n[9] > 5000
    effect = (with_gg[9] / with_gg[1]) / (without[9] / without[1])
    assert 0.72 < effect < 0.88, effect
    # monotone: the second half of the card is faster than the first
    ratio = with_gg / without
    assert ratio[5:10].mean() < ratio[1:5].mean() < 1.0
