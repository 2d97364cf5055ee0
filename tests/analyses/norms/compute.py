"""The L2 norm of each token's residual stream at each layer (0: the embeddings, n: after block n, before the
final norm)."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.common import layer_names
from lmreport.models import ForwardPass, LoadedModel


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    norms = forward.hidden_states.double().norm(dim=-1)  # [layer + 1, position]
    return {
        "tokens": forward.tokens,
        "layers": layer_names(norms.shape[0]),
        "norms": norms.tolist(),
        "mean": norms.mean(-1).tolist(),
    }
