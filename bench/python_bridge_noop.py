"""python-bridge: selects the first b ids without reading its arrays, so its time is the bridge's alone.

`deno task perf` times it beside the built-ins (the row `python-bridge`): the cost of handing a pool's ids,
probabilities and features to a Python plug-in and reading its answer back.
"""

NEEDS = ["probs", "features"]
OPTIONS = {}


def select(unlabelled, budget, *, labelled=None, seed=0, options=None):
    return list(unlabelled.ids[:budget])
