#!/usr/bin/env python3
"""Check a committed reference run without albench's code (issue #18): Python 3 standard library only.

    python3 reports/reference/check.py reports/reference/cpu/fig2 [--min-seeds 10] [--min-final-random 0.60]
        [--max-drop 0.02] [--max-inference-share 0.25] [--labels ../shared/data/ucmerced/LandUse_Multilabeled.txt]

It recomputes from the folder's `curves.csv`, `manifest.json` and `cells/`:

1. healthy regime: per scenario and arm, the mean over seeds of macro F1 at each round is never more than
   --max-drop below the best mean at an earlier round; random's final mean macro F1 in the first scenario is at
   least --min-final-random;
2. seeds: every scenario and arm has at least --min-seeds seeds, the same seeds in every arm (paired);
3. averages over rounds leave out the initial round: each arm's mean over seeds of its per-seed average over
   rounds t = 1..T equals summary.csv's avg_macro_f1_mean / avg_micro_f1_mean, and each paired mean difference
   equals stats.csv's averaged row;
4. inference is at most --max-inference-share of fine-tuning + inference wall time, summed from curves.csv and
   as the manifest states it;
5. splits: every cell's `split` hashes match its listed ids, every arm of a seed has the same split, the initial
   set lies in the pool, and with --labels, every id is in the label file and the pool is the archive less the
   test, validation and removed ids (its hash is recomputed).

Prints one line per check and exits 1 when any fails.
"""
import argparse
import csv
import hashlib
import json
import math
import os
import sys
from collections import defaultdict

FAILED = []


def check(ok, text):
    print(("ok    " if ok else "FAIL  ") + text)
    if not ok:
        FAILED.append(text)


def ids_hash(ids):
    return hashlib.sha256("\n".join(sorted(ids)).encode("utf-8")).hexdigest()


def mean(xs):
    return sum(xs) / len(xs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder")
    ap.add_argument("--min-seeds", type=int, default=10)
    ap.add_argument("--min-final-random", type=float, default=0.60)
    ap.add_argument("--max-drop", type=float, default=0.02)
    ap.add_argument("--max-inference-share", type=float, default=0.25)
    ap.add_argument("--baseline", default="random")
    ap.add_argument("--labels", help="UCMerced's LandUse_Multilabeled.txt (ids in its first column)")
    a = ap.parse_args()

    rows = list(csv.DictReader(open(os.path.join(a.folder, "curves.csv"))))
    # curve[scenario][arm][seed][iteration] = (macro, micro)
    curve = defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))
    fin = inf = 0.0
    for r in rows:
        curve[r["scenario"]][r["arm"]][int(r["seed"])][int(r["iteration"])] = (
            float(r["macro_f1"]),
            float(r["micro_f1"]),
        )
        fin += float(r["seconds_finetune"])
        inf += float(r["seconds_inference"])
    scenarios = list(dict.fromkeys(r["scenario"] for r in rows))

    # 1. Healthy regime.
    for s in scenarios:
        for arm, seeds in curve[s].items():
            rounds = sorted(set.intersection(*(set(c) for c in seeds.values())))
            means = [mean([seeds[k][t][0] for k in seeds]) for t in rounds]
            worst = max((max(means[:i]) - means[i] for i in range(1, len(means))), default=0.0)
            check(
                worst <= a.max_drop + 1e-12,
                f"{s} {arm}: mean macro F1 falls at most {worst * 100:.2f} points below an earlier best "
                f"(limit {a.max_drop * 100:.0f})",
            )
    first = scenarios[0]
    base = curve[first][a.baseline]
    last = min(max(c) for c in base.values())
    final = mean([c[last][0] for c in base.values()])
    check(
        final >= a.min_final_random,
        f"{first} {a.baseline}: final mean macro F1 {final:.4f} at round {last} (at least {a.min_final_random})",
    )

    # 2. Seeds, paired.
    for s in scenarios:
        seedsets = {arm: sorted(c) for arm, c in curve[s].items()}
        n = min(len(v) for v in seedsets.values())
        check(
            n >= a.min_seeds and len({tuple(v) for v in seedsets.values()}) == 1,
            f"{s}: {n} seeds per arm, the same seeds in every arm (at least {a.min_seeds})",
        )

    # 3. Averages over rounds 1..T, initial round left out.
    summary = {(r["scenario"], r["arm"]): r for r in csv.DictReader(open(os.path.join(a.folder, "summary.csv")))}
    stats = [
        r
        for r in csv.DictReader(open(os.path.join(a.folder, "stats.csv")))
        if r["at"].startswith("average")
    ]
    for s in scenarios:
        avg = {}
        for arm, seeds in curve[s].items():
            avg[arm] = {
                k: tuple(mean([c[t][m] for t in c if t >= 1]) for m in (0, 1)) for k, c in seeds.items()
            }
            got = summary[(s, arm)]
            for m, col in ((0, "avg_macro_f1_mean"), (1, "avg_micro_f1_mean")):
                mine = mean([v[m] for v in avg[arm].values()])
                check(
                    abs(mine - float(got[col])) < 1e-9,
                    f"{s} {arm}: {col} {mine:.6f} recomputed over rounds 1..T, summary.csv {float(got[col]):.6f}",
                )
        for r in (r for r in stats if r["scenario"] == s):
            m = 0 if r["metric"] == "macro_f1" else 1
            d = [avg[r["arm"]][k][m] - avg[r["baseline"]][k][m] for k in avg[r["baseline"]]]
            sd = math.sqrt(sum((x - mean(d)) ** 2 for x in d) / (len(d) - 1)) if len(d) > 1 else 0.0
            check(
                abs(mean(d) - float(r["mean_diff"])) < 1e-9 and abs(sd - float(r["sd_diff"])) < 1e-9,
                f"{s} {r['arm']} - {r['baseline']} {r['metric']} averaged: paired mean {mean(d) * 100:+.2f} points, "
                f"sd {sd * 100:.2f}, as stats.csv",
            )

    # 4. Inference share.
    share = inf / (fin + inf) if fin + inf > 0 else 0.0
    manifest = json.load(open(os.path.join(a.folder, "manifest.json")))
    stated = manifest["wallSeconds"]["inferenceShare"]
    check(
        share <= a.max_inference_share and abs(share - stated) < 5e-4,
        f"inference {share * 100:.1f}% of fine-tuning + inference (curves.csv), manifest {stated * 100:.1f}% "
        f"(at most {a.max_inference_share * 100:.0f}%)",
    )

    # 5. Splits.
    label_ids = None
    if a.labels:
        with open(a.labels) as f:
            label_ids = [line.split()[0] for line in f.read().splitlines()[1:] if line.strip()]
    by_seed = {}
    cells = 0
    bad = []
    for root, _, files in os.walk(os.path.join(a.folder, "cells")):
        for name in files:
            if not name.endswith(".json"):
                continue
            rec = json.load(open(os.path.join(root, name)))
            cells += 1
            sp = rec.get("split")
            if sp is None:
                bad.append(f"{rec['key']}: no split")
                continue
            for part in ("test", "val", "removed", "initial"):
                if ids_hash(sp[part]["ids"]) != sp[part]["sha256"] or len(sp[part]["ids"]) != sp[part]["n"]:
                    bad.append(f"{rec['key']}: {part} ids do not match their hash")
            if label_ids is not None:
                known = set(label_ids)
                listed = set(sp["test"]["ids"]) | set(sp["val"]["ids"]) | set(sp["removed"]["ids"])
                if not listed <= known or not set(sp["initial"]["ids"]) <= known:
                    bad.append(f"{rec['key']}: ids not in the label file")
                pool = [i for i in label_ids if i not in listed]
                if ids_hash(pool) != sp["pool"]["sha256"] or len(pool) != sp["pool"]["n"]:
                    bad.append(f"{rec['key']}: the pool is not the archive less test, validation and removed")
                if not set(sp["initial"]["ids"]) <= set(pool):
                    bad.append(f"{rec['key']}: initial set outside the pool")
            elif set(sp["initial"]["ids"]) & (set(sp["test"]["ids"]) | set(sp["val"]["ids"]) | set(sp["removed"]["ids"])):
                bad.append(f"{rec['key']}: initial set outside the pool")
            key = (rec["scenario"], rec["seed"])
            text = json.dumps(sp, sort_keys=True)
            if by_seed.setdefault(key, text) != text:
                bad.append(f"{rec['key']}: split differs from another arm of seed {rec['seed']}")
    check(
        cells > 0 and not bad,
        f"splits of {cells} cells: hashes match ids, equal across arms, initial set in the pool"
        + (", checked against the label file" if label_ids is not None else "")
        + ("" if not bad else f" — {len(bad)} problems, first: {bad[0]}"),
    )

    print(f"{len(FAILED)} of the checks failed" if FAILED else "all checks passed")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
