"""One picture of a run: active customers, monthly profit and cumulative incremental profit."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def report_png(df, doc, path):
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    by = df.groupby(["arm", "month"]).mean(numeric_only=True).reset_index()
    for arm, style in (("baseline", "--"), ("programme", "-")):
        d = by[by.arm == arm]
        if d.empty:
            continue
        axes[0].plot(d.month, d.active_end, style, label=arm)
        axes[1].plot(d.month, d.profit, style, label=arm)
    axes[0].set_title("Active customers (month end)")
    axes[1].set_title(f"Profit per month ({doc['currency']})")
    inc = np.cumsum(doc["economics"]["monthly_incremental_profit"])
    axes[2].bar(np.arange(1, len(inc) + 1), inc, color=["tab:green" if v >= 0 else "tab:red" for v in inc])
    axes[2].axhline(0, color="black", lw=0.8)
    axes[2].set_title("Cumulative incremental profit")
    for ax in axes:
        ax.set_xlabel("month")
    axes[0].legend()
    fig.suptitle(doc["scenario"])
    fig.tight_layout()
    fig.savefig(path, dpi=90, format="png")  # by name, not by the file name (written under a temporary name)
    plt.close(fig)
