#!/usr/bin/env python3
"""Check a committed reference run without albench's code (issue #18): Python 3 standard library only.

    python3 reports/reference/check.py reports/reference/cpu/fig2 [--min-seeds 10] [--min-final-random 0.60]
        [--max-drop 0.02] [--max-inference-share 0.25] [--labels ../shared/data/ucmerced/LandUse_Multilabeled.txt]
        [--prefix-of reports/reference/cpu/fig2] [--probe-held-out] [--gate] [--preregistration FILE]

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
5. splits: every cell's `split` hashes match its listed ids, every arm of a seed has the same split, test,
   validation and removed sets are disjoint, the initial set lies in the pool, and with --labels, every id is in
   the label file and the pool is the archive less the test, validation and removed ids (its hash is
   recomputed; a pool given as a count leaves images unused, and then only its size is reported);
6. with --prefix-of FOLDER: this folder's scenario is, round by round, the first rounds of FOLDER's first
   scenario (identical scores and losses), e.g. Fig. 1 against Fig. 2's Scenario 1;
7. with --probe-held-out: every cell's BYOL linear probe was scored on images its backbone never saw: the
   probe names the cell's own seed, says it was held out, and used as many images as the cell's validation set
   (which rule 5 shows disjoint from the pool, the backbone's pre-training archive);
8. with --gate (issue #31), on the first scenario's baseline arm: at the final round every --candidates class has
   mean per-class F1 over seeds of at least --gate-min-f1; every round of every cell ends its fine-tuning with
   training BCE at most --gate-max-bce; BYOL lifts the probe's mAP over random initialisation by at least
   --gate-min-lift on average over the backbones (and in each, with --gate-every-backbone);
9. with --preregistration FILE (an albench-preregistration-v1 JSON file written before the run): the run's
   scenarios have the registered hashes, the registered baseline and arms ran, and every scenario and arm has
   the registered number of seeds (a fixed rule) or at most the registered most (a sequential rule).

Before all that: the manifest's cells are all complete, and every arm has every declared seed with the same
rounds 0..T (a run stopped part-way fails here rather than passing on fewer rounds).

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
    ap.add_argument(
        "--prefix-of",
        metavar="FOLDER",
        help="another results folder whose first scenario must hold this folder's (only) scenario as its first "
        "rounds: same arms and seeds, identical scores and training losses round by round",
    )
    ap.add_argument("--probe-held-out", action="store_true", help="rule 7: every probe on held-out images")
    ap.add_argument("--gate", action="store_true", help="rule 8: the pilot gate of issue #31")
    ap.add_argument(
        "--candidates",
        default="airplane,chaparral,court,dock,field,mobile-home,sea,ship,tanks",
        help="the minority candidates the gate scores (default: the paper's nine)",
    )
    ap.add_argument("--gate-min-f1", type=float, default=0.30)
    ap.add_argument("--gate-max-bce", type=float, default=0.10)
    ap.add_argument("--gate-min-lift", type=float, default=0.02)
    ap.add_argument("--gate-every-backbone", action="store_true")
    ap.add_argument("--preregistration", metavar="FILE", help="rule 9: the run against its registered design")
    a = ap.parse_args()

    rows = list(csv.DictReader(open(os.path.join(a.folder, "curves.csv"), encoding="utf-8", newline="")))
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
    manifest = json.load(open(os.path.join(a.folder, "manifest.json"), encoding="utf-8"))
    # Scenario order, seeds and baseline as the run declared them (not as curves.csv happens to list them).
    declared = {m["id"]: m for m in manifest["scenarios"]}
    scenarios = [m["id"] for m in manifest["scenarios"]]
    cells = manifest.get("cells", {})
    check(
        cells.get("complete") == cells.get("expected") and not cells.get("missing"),
        f"cells: {cells.get('complete')} of {cells.get('expected')} complete, missing {cells.get('missing')}",
    )

    # 0. Completeness: every arm of every scenario has every declared seed, each with the same rounds 0..T.
    rounds_of = {}
    for s in scenarios:
        want = sorted(declared[s].get("seeds", []))
        shapes = {
            (arm, k): sorted(c) for arm, seeds in curve[s].items() for k, c in seeds.items()
        }
        T = max((max(r) for r in shapes.values()), default=-1)
        rounds_of[s] = list(range(T + 1))
        ok = bool(shapes) and all(r == rounds_of[s] for r in shapes.values()) and all(
            sorted(seeds) == want for seeds in curve[s].values()
        )
        check(ok and T >= 1, f"{s}: every arm has seeds {want} with rounds 0..{T}")

    # Scenarios without any rounds failed above; the checks below look at those with data.
    scenarios_with_data = [s for s in scenarios if curve[s]]

    # 1. Healthy regime.
    for s in scenarios_with_data:
        for arm, seeds in curve[s].items():
            rounds = rounds_of[s]
            means = [mean([seeds[k][t][0] for k in seeds if t in seeds[k]]) for t in rounds]
            worst = max([0.0] + [max(means[:i]) - means[i] for i in range(1, len(means))])
            check(
                worst <= a.max_drop + 1e-12,
                f"{s} {arm}: the mean macro F1 over seeds falls at most {worst * 100:.2f} points below its best "
                f"at an earlier round (limit {a.max_drop * 100:.0f})",
            )
    first = scenarios[0]
    baseline = declared[first].get("baseline", a.baseline)
    base = curve[first].get(baseline, {})
    last = rounds_of[first][-1]
    finals = [c[last][0] for c in base.values() if last in c]
    final = mean(finals) if finals else float("nan")
    check(
        bool(finals) and final >= a.min_final_random,
        f"{first} {baseline}: final mean macro F1 {final:.4f} at round {last} (at least {a.min_final_random})",
    )

    # 2. Seeds, paired.
    for s in scenarios_with_data:
        seedsets = {arm: sorted(c) for arm, c in curve[s].items()}
        n = min(len(v) for v in seedsets.values())
        check(
            n >= a.min_seeds and len({tuple(v) for v in seedsets.values()}) == 1,
            f"{s}: {n} seeds per arm, the same seeds in every arm (at least {a.min_seeds})",
        )

    # 3. Averages over rounds 1..T, initial round left out.
    summary = {
        (r["scenario"], r["arm"]): r
        for r in csv.DictReader(open(os.path.join(a.folder, "summary.csv"), encoding="utf-8", newline=""))
    }
    stats = [
        r
        for r in csv.DictReader(open(os.path.join(a.folder, "stats.csv"), encoding="utf-8", newline=""))
        if r["at"].startswith("average")
    ]
    for s in scenarios_with_data:
        avg = {}
        for arm, seeds in curve[s].items():
            avg[arm] = {
                k: tuple(mean([c[t][m] for t in c if t >= 1]) for m in (0, 1))
                for k, c in seeds.items()
                if any(t >= 1 for t in c)
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
            # With one seed the sd is undefined: stats.csv leaves it empty, and so does this check.
            sd = math.sqrt(sum((x - mean(d)) ** 2 for x in d) / (len(d) - 1)) if len(d) > 1 else None
            sd_ok = r["sd_diff"] == "" if sd is None else r["sd_diff"] != "" and abs(sd - float(r["sd_diff"])) < 1e-9
            check(
                abs(mean(d) - float(r["mean_diff"])) < 1e-9 and sd_ok,
                f"{s} {r['arm']} - {r['baseline']} {r['metric']} averaged: paired mean {mean(d) * 100:+.2f} points, "
                + (f"sd {sd * 100:.2f}" if sd is not None else "sd undefined (one seed)") + ", as stats.csv",
            )

    # 4. Inference share.
    share = inf / (fin + inf) if fin + inf > 0 else 0.0
    stated = manifest.get("wallSeconds", {}).get("inferenceShare", float("nan"))
    check(
        share <= a.max_inference_share and abs(share - stated) < 5e-4,
        f"inference {share * 100:.1f}% of fine-tuning + inference (curves.csv), manifest {stated * 100:.1f}% "
        f"(at most {a.max_inference_share * 100:.0f}%)",
    )

    # 5. Splits.
    label_ids = None
    if a.labels:
        with open(a.labels, encoding="utf-8") as f:
            label_ids = [line.split()[0] for line in f.read().splitlines()[1:] if line.strip()]
    by_seed = {}
    ncells = 0
    bad = []
    notes = set()
    for root, dirs, files in os.walk(os.path.join(a.folder, "cells")):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith(".json"):
                continue
            rec = json.load(open(os.path.join(root, name), encoding="utf-8"))
            ncells += 1
            sp = rec.get("split")
            if sp is None:
                bad.append(f"{rec['key']}: no split")
                continue
            for part in ("test", "val", "removed", "initial"):
                if ids_hash(sp[part]["ids"]) != sp[part]["sha256"] or len(sp[part]["ids"]) != sp[part]["n"]:
                    bad.append(f"{rec['key']}: {part} ids do not match their hash")
            test, val, removed = set(sp["test"]["ids"]), set(sp["val"]["ids"]), set(sp["removed"]["ids"])
            if test & val or (test | val) & removed:
                bad.append(f"{rec['key']}: test, validation and removed sets overlap")
            if label_ids is not None:
                known = set(label_ids)
                listed = test | val | removed
                if not listed <= known or not set(sp["initial"]["ids"]) <= known:
                    bad.append(f"{rec['key']}: ids not in the label file")
                pool = [i for i in label_ids if i not in listed]
                if len(pool) != sp["pool"]["n"]:
                    # A pool given as a count leaves images unused: its ids cannot be derived, only its size.
                    notes.add(
                        f"{rec['scenario']}: the pool ({sp['pool']['n']}) is not the rest of the archive "
                        f"({len(pool)}), so its hash was not recomputed"
                    )
                elif ids_hash(pool) != sp["pool"]["sha256"]:
                    bad.append(f"{rec['key']}: the pool is not the archive less test, validation and removed")
                elif not set(sp["initial"]["ids"]) <= set(pool):
                    bad.append(f"{rec['key']}: initial set outside the pool")
            elif set(sp["initial"]["ids"]) & (set(sp["test"]["ids"]) | set(sp["val"]["ids"]) | set(sp["removed"]["ids"])):
                bad.append(f"{rec['key']}: initial set outside the pool")
            key = (rec["scenario"], rec["seed"])
            text = json.dumps(sp, sort_keys=True)
            if by_seed.setdefault(key, text) != text:
                bad.append(f"{rec['key']}: split differs from another arm of seed {rec['seed']}")
    for n in sorted(notes):
        print("note  " + n)
    check(
        ncells > 0 and not bad,
        f"splits of {ncells} cells: hashes match ids, equal across arms, initial set in the pool"
        + (", checked against the label file" if label_ids is not None else "")
        + ("" if not bad else f" — {len(bad)} problems, first: {bad[0]}"),
    )

    # 6. A shorter run is the first rounds of a longer one (same settings, deterministic engine and threads).
    if a.prefix_of:
        other = list(csv.DictReader(open(os.path.join(a.prefix_of, "curves.csv"), encoding="utf-8", newline="")))
        longer = other[0]["scenario"]
        cols = ("micro_f1", "macro_f1", "mAP", "train_loss", "labelled")
        theirs = {(r["arm"], r["seed"], r["iteration"]): [r[c] for c in cols] for r in other if r["scenario"] == longer}
        mine = {(r["arm"], r["seed"], r["iteration"]): [r[c] for c in cols] for r in rows if r["scenario"] == first}
        differ = [k for k in mine if theirs.get(k) != mine[k]]
        check(
            bool(mine) and not differ,
            f"{first}: its {len(mine)} rounds are identical in {longer} of {a.prefix_of}"
            + (f" — {len(differ)} differ, first {differ[0]}" if differ else ""),
        )

    records = []
    for root, dirs, files in os.walk(os.path.join(a.folder, "cells")):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".json"):
                records.append(json.load(open(os.path.join(root, name), encoding="utf-8")))

    # 7. The probe on held-out images.
    if a.probe_held_out:
        bad = []
        for rec in records:
            probe = (rec.get("pretrain") or {}).get("probe")
            sp = rec.get("split") or {}
            if probe is None:
                bad.append(f"{rec['key']}: no probe")
            elif probe.get("heldOut") is not True or probe.get("valSeed") != rec["seed"]:
                bad.append(
                    f"{rec['key']}: probe heldOut {probe.get('heldOut')}, on seed {probe.get('valSeed')}'s "
                    f"validation set (the cell's seed is {rec['seed']})"
                )
            elif probe.get("images") != sp.get("val", {}).get("n"):
                bad.append(f"{rec['key']}: probe on {probe.get('images')} images, validation set {sp.get('val', {}).get('n')}")
        check(
            bool(records) and not bad,
            f"probes of {len(records)} cells: each on its own seed's validation images, none in its pre-training "
            "archive" + ("" if not bad else f" — {len(bad)} problems, first: {bad[0]}"),
        )

    # 8. The pilot gate, on the first scenario's baseline arm.
    if a.gate:
        gated = [r for r in records if r["scenario"] == first and r["arm"] == baseline and r.get("complete")]
        classes = [c for c in a.candidates.split(",") if c]
        for c in classes:
            scores = []
            for r in gated:
                if c in r["classNames"]:
                    scores.append(r["iterations"][-1]["test"]["perClassF1"][r["classNames"].index(c)])
            f1 = mean(scores) if scores else float("nan")
            check(
                bool(scores) and f1 >= a.gate_min_f1,
                f"gate: {first} {baseline} {c}: mean per-class F1 {f1:.3f} at the final round over "
                f"{len(scores)} seeds (at least {a.gate_min_f1})",
            )
        worst = max((it["trainLoss"] for r in gated for it in r["iterations"]), default=float("nan"))
        check(
            bool(gated) and worst <= a.gate_max_bce,
            f"gate: {first} {baseline}: every round's fine-tuning ends with training BCE at most {worst:.4f} "
            f"(limit {a.gate_max_bce})",
        )
        lifts = {}
        for r in gated:
            probe = (r.get("pretrain") or {}).get("probe")
            if probe:
                lifts[r["pretrain"]["key"]] = probe["pretrainedMap"] - probe["randomInitMap"]
        lift = mean(list(lifts.values())) if lifts else float("nan")
        ok = bool(lifts) and lift >= a.gate_min_lift
        if a.gate_every_backbone:
            ok = ok and min(lifts.values()) >= a.gate_min_lift
        check(
            ok,
            f"gate: BYOL lifts the probe mAP by {lift:+.4f} on average over {len(lifts)} backbones (min "
            f"{min(lifts.values()) if lifts else float('nan'):+.4f}; at least {a.gate_min_lift:+.4f}"
            + (" in each" if a.gate_every_backbone else " on average") + ")",
        )

    # 9. The registered design.
    if a.preregistration:
        reg = json.load(open(a.preregistration, encoding="utf-8"))
        ok_format = reg.get("format") == "albench-preregistration-v1"
        check(ok_format, f"pre-registration {a.preregistration}: format {reg.get('format')}")
        if ok_format:
            hashes = {m["id"]: m.get("hash") for m in manifest["scenarios"]}
            registered = {x["id"]: x["hash"] for x in reg["scenarios"]}
            check(
                registered == hashes,
                f"pre-registration: the run's {len(hashes)} scenarios have the {len(registered)} registered hashes",
            )
            arms = [reg["baseline"]] + [x["name"] for x in reg["arms"]]
            rule = reg["rule"]
            for s in scenarios:
                for arm in arms:
                    n = len(curve[s].get(arm, {}))
                    if rule["kind"] == "fixed":
                        ok, want = n == rule["seeds"], f"the registered {rule['seeds']}"
                    else:
                        ok, want = 0 < n <= rule["maxSeeds"], f"at most the registered {rule['maxSeeds']}"
                    check(ok, f"pre-registration: {s} {arm} ran {n} seeds ({want})")

    print(f"{len(FAILED)} of the checks failed" if FAILED else "all checks passed")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
