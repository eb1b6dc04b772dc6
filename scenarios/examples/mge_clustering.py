"""mge-clustering in Python: MGE uncertainty, then k-means into b clusters, the most uncertain of each.

A Python port of the paper's query function (Möllenbrok & Demir, MGE+Clustering), written from its definition:
1. the uncertainty of a sample is the norm of the last-layer gradient of the BCE loss under 0.5-threshold
   pseudo-labels, ||p - y_hat|| * ||h|| / C (with the bias gradient: ||p - y_hat|| * sqrt(||h||^2 + 1) / C);
2. the m most uncertain samples (m = mFactor * b unless m is given, clamped to [b, |U|]) are clustered on their
   features into b clusters with scikit-learn's k-means (k-means++ seeding, one initialisation, seeded);
3. from each cluster its most uncertain sample is picked; if fewer than b clusters are non-empty, the most
   uncertain candidates not yet picked fill the rest.

It selects the same kind of samples as the built-in `mge-clustering`, and the same uncertainty scores, but not
always the same ids: scikit-learn's k-means draws its k-means++ seeds from NumPy's generator, the built-in from
albench's streams, so the clusters differ.
"""

import math

import numpy as np
from sklearn.cluster import KMeans

NEEDS = ["probs", "features"]
OPTIONS = {
    "m": {
        "type": "number",
        "minimum": 1,
        "description": "Candidates clustered, absolute (rounded, clamped to [b, |U|]); overrides mFactor when given.",
    },
    "mFactor": {
        "type": "number",
        "minimum": 1,
        "default": 10,
        "description": "Candidates clustered as a multiple of b: m = mFactor * b (clamped to [b, |U|]).",
    },
    "includeBias": {
        "type": "boolean",
        "default": False,
        "description": "Include the last layer's bias gradient in the uncertainty (the paper uses the weights only).",
    },
}


def gradient_norms(probs, features, include_bias=False):
    """||p - y_hat|| * ||h|| / C per sample, summed in float64 class by class and feature by feature."""
    p = probs.astype(np.float64)
    n, c = p.shape
    a = np.zeros(n)
    for j in range(c):
        r = p[:, j] - (p[:, j] >= 0.5)
        a += r * r
    f = features.astype(np.float64)
    h = np.full(n, 1.0 if include_bias else 0.0)
    for k in range(f.shape[1]):
        h += f[:, k] ** 2
    return np.sqrt(a) * np.sqrt(h) / c


def select(unlabelled, budget, *, labelled=None, seed=0, options=None):
    options = options or {}
    n = len(unlabelled.ids)
    b = min(budget, n)
    norms = gradient_norms(unlabelled.probs, unlabelled.features, bool(options.get("includeBias", False)))
    if b == n:
        return {"selected": list(unlabelled.ids), "scores": norms}
    wanted = options["m"] if options.get("m") is not None else options.get("mFactor", 10) * b
    m = min(n, max(b, math.floor(wanted + 0.5)))
    order = np.argsort(-norms, kind="stable")  # most uncertain first; ties keep the earlier sample first
    candidates = order[:m]
    kmeans = KMeans(n_clusters=b, init="k-means++", n_init=1, random_state=seed % (2**32))
    assignments = kmeans.fit_predict(unlabelled.features[candidates].astype(np.float64))
    best = {}
    for k, cluster in enumerate(assignments):
        best.setdefault(int(cluster), k)  # candidates are sorted, so the first is the most uncertain
    picked = set(best.values())
    for k in range(m):
        if len(picked) >= b:
            break
        picked.add(k)
    return {"selected": [unlabelled.ids[candidates[k]] for k in sorted(picked)], "scores": norms}
