#!/usr/bin/python3
"""The learnability benchmark's table from its results file (task side seed side:config auc best_epoch notices).

Usage: summary.py RESULTS.txt
Per task: each pgscreen variant's mean test AUC ± half its range over seeds (with n= when a cell has fewer
seeds than others), PyTorch's best grid configuration (by mean), and the difference (pgscreen's first
variant − PyTorch's best).
"""
import collections
import sys


def main():
    runs = collections.defaultdict(list)
    sides = {}
    tasks = []
    for line in open(sys.argv[1]):
        task, side, _seed, who, auc, _best, _notes = line.split()
        if task not in sides:
            tasks.append(task)
        sides[task] = side
        runs[(task, who)].append(float(auc))
    variants = list(dict.fromkeys(w for (_, w) in runs if w.startswith("pgscreen:")))

    seeds = max(len(v) for v in runs.values())

    def cell(values):
        """Mean ± half the range; a cell with fewer seeds than the run's says how many it has."""
        mean = sum(values) / len(values)
        text = "%.3f ± %.3f" % (mean, (max(values) - min(values)) / 2)
        return mean, text + (" (n=%d)" % len(values) if len(values) < seeds else "")

    header = ["task", "px"] + [v.split(":")[1] for v in variants] + ["PyTorch best", "config", "difference"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for task in tasks:
        row = [task, sides[task]]
        first = None
        for i, v in enumerate(variants):
            if not runs.get((task, v)):
                row.append("")
                continue
            mean, text = cell(runs[(task, v)])
            first = mean if i == 0 else first
            row.append(text)
        torch = [(cell(vals), len(vals), who.split(":")[1]) for (t, who), vals in runs.items()
                 if t == task and who.startswith("torch:") and vals]
        if torch:
            (mean, text), _, config = max(torch, key=lambda c: (c[0][0], c[1]))
            row += [text, config, "%+.3f" % (first - mean) if first is not None else ""]
        else:
            row += ["", "", ""]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
