"""Draws bench/latency.png from the samples `make bench` writes (.build/bench/results.json).
Usage: plot.py <results.json> <out.png>"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

results = json.load(open(sys.argv[1]))
a, b = results["A"], results["B"]
colors = {"A": "#d9480f", "B": "#1c7ed6"}

fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))

# 1. Cold start: process start → first /next, → first Stream Start answered (each run a dot).
ax = axes[0]
for i, (key, label) in enumerate([("firstNextMs", "start → first /next"), ("firstAnsweredMs", "start → first Stream Start answered")]):
    for j, (k, r) in enumerate([("A", a), ("B", b)]):
        x = i * 3 + j
        ys = r[key]
        ax.scatter([x] * len(ys), ys, s=14, color=colors[k], alpha=0.6, label=k if i == 0 else None)
        ax.hlines(sorted(ys)[len(ys) // 2], x - 0.3, x + 0.3, color=colors[k])
ax.set_xticks([0.5, 3.5], ["start → first /next", "start → first\nStream Start answered"])
ax.set_yscale("log")
ax.set_ylabel("ms (log)")
ax.set_title("Cold start (each run; bar = median)")
ax.legend(loc="center left", fontsize=8)

# 2. Warm Stream Start latency, /next answered → /response received: CDF.
ax = axes[1]
for k, r in [("A", a), ("B", b)]:
    ys = sorted(r["warmMicroseconds"])
    ax.plot(ys, [(i + 1) / len(ys) for i in range(len(ys))], color=colors[k], label=f"{k}: {r['name']}")
ax.set_xscale("log")
ax.set_xlabel("µs (log)")
ax.set_ylabel("fraction of invocations")
ax.set_title("Warm Stream Start (signed SendEvent included)")
ax.legend(loc="lower right", fontsize=8)
ax.grid(True, which="both", alpha=0.3)

# 3. Runtime overhead (ours): test.echo, and warm invite when measured.
ax = axes[2]
series = [("test.echo", results["echoMicroseconds"])]
if results.get("inviteMicroseconds"):
    series.append(("multihostInvite", results["inviteMicroseconds"]))
for name, ys in series:
    ys = sorted(ys)
    ax.plot(ys, [(i + 1) / len(ys) for i in range(len(ys))], label=f"A: {name}")
ax.set_xscale("log")
ax.set_xlabel("µs (log)")
ax.set_title("A only: test.echo (runtime overhead), warm invite")
ax.legend(loc="lower right", fontsize=8)
ax.grid(True, which="both", alpha=0.3)

fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)
