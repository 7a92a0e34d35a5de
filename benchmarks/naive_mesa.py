"""The model a user would write first: one mesa.Agent per customer, one step per day.

It is the speed to leave behind, kept here so the engine is always measured
against it in the same run (benchmarks/bench_engine.py). Behaviour, as plainly
as possible: BG/NBD purchasing (a Poisson purchase with a gamma-distributed
daily rate, then a beta-distributed chance of leaving after each purchase),
gamma order values with a mean of 1500, and a points programme that earns one
point per currency unit and pays a 500 reward for every 500 points.

    python benchmarks/naive_mesa.py CUSTOMERS DAYS [SEED]

prints the customer-days simulated per second.
"""
import sys
import time

import mesa

# CDNOW BG/NBD fit (Fader, Hardie & Lee 2005), alpha converted from weeks to days
R, ALPHA_DAYS, A, B = 0.243, 4.414 * 7, 0.793, 2.426
MEAN_ORDER, ORDER_SHAPE = 1500.0, 6.0
REWARD_POINTS = 500


class Customer(mesa.Agent):
    def __init__(self, model, rate, p_leave):
        super().__init__(model)
        self.rate = rate          # purchase probability per day
        self.p_leave = p_leave    # chance of leaving after a purchase
        self.active = True
        self.points = 0.0
        self.orders = 0
        self.spend = 0.0

    def step(self):
        if not self.active:
            return
        rng = self.model.rng
        if rng.random() >= self.rate:
            return
        value = rng.gamma(ORDER_SHAPE, MEAN_ORDER / ORDER_SHAPE)
        self.orders += 1
        self.spend += value
        self.points += value
        while self.points >= REWARD_POINTS:
            self.points -= REWARD_POINTS
            self.model.rewards_paid += REWARD_POINTS
        if rng.random() < self.p_leave:
            self.active = False


class Shop(mesa.Model):
    def __init__(self, customers, seed=0):
        super().__init__(seed=seed)
        self.rewards_paid = 0.0
        rates = self.rng.gamma(R, 1.0 / ALPHA_DAYS, customers)
        leave = self.rng.beta(A, B, customers)
        for rate, p in zip(rates, leave):
            Customer(self, float(rate), float(p))

    def step(self):
        self.agents.shuffle_do("step")


def main(argv):
    customers, days = int(argv[0]), int(argv[1])
    seed = int(argv[2]) if len(argv) > 2 else 0
    start = time.perf_counter()
    shop = Shop(customers, seed)
    for _ in range(days):
        shop.step()
    seconds = time.perf_counter() - start
    orders = sum(c.orders for c in shop.agents)
    print(f"customers={customers} days={days} orders={orders} reward_cost={shop.rewards_paid:.0f} "
          f"seconds={seconds:.2f} customer_days_per_s={customers * days / seconds:.0f}")


if __name__ == "__main__":
    main(sys.argv[1:])
