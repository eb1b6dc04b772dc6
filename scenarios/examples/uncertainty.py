"""uncertainty in Python: the b samples with the highest mean binary entropy over classes.

A Python port of albench's built-in `uncertainty`, written from its definition: for class probabilities p_ij,
the score of sample i is -(1/C) * sum_j [p_ij log p_ij + (1 - p_ij) log(1 - p_ij)] (p clipped to [1e-7, 1 - 1e-7]);
the b highest scores are selected, ties going to the earlier sample. It needs only the probabilities.

Run it as any query function: deno task compare scenarios/examples/uncertainty.py
"""

import numpy as np

NEEDS = ["probs"]
OPTIONS = {}


def mean_binary_entropy(probs):
    """Mean binary entropy per row, in nats, summed class by class in float64 (as the built-in does)."""
    p = np.clip(probs.astype(np.float64), 1e-7, 1 - 1e-7)
    h = np.zeros(p.shape[0])
    for j in range(p.shape[1]):
        q = p[:, j]
        h -= q * np.log(q) + (1 - q) * np.log(1 - q)
    return h / p.shape[1]


def select(unlabelled, budget, *, labelled=None, seed=0, options=None):
    h = mean_binary_entropy(unlabelled.probs)
    order = np.argsort(-h, kind="stable")  # highest first; ties keep the earlier sample first
    picked = order[: min(budget, len(unlabelled.ids))]
    return {"selected": [unlabelled.ids[i] for i in picked], "scores": h}
