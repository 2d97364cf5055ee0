"""How representations evolve: per-layer norm, cosine similarity to the next and to the last layer,
and a 2-D PCA of each token's trajectory through the layers."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.common import layer_names
from lmreport.models.forward import ForwardPass, LoadedModel


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    import numpy as np
    import torch
    from sklearn.decomposition import PCA

    hidden = forward.hidden_states.double()  # [layer+1, pos, d]
    norms = hidden.norm(dim=-1)
    cos_next = torch.nn.functional.cosine_similarity(hidden[:-1], hidden[1:], dim=-1)
    cos_last = torch.nn.functional.cosine_similarity(hidden, hidden[-1:].expand_as(hidden), dim=-1)
    n_rows, n_pos, d = hidden.shape
    first = 1 if options["skip_first_token"] and n_pos > 1 else 0
    points = hidden[:, first:, :].reshape(-1, d).numpy()
    pca = PCA(n_components=min(2, points.shape[0], d), svd_solver="full")
    projected = pca.fit_transform(points).reshape(n_rows, n_pos - first, -1)
    if projected.shape[-1] < 2:
        projected = np.concatenate([projected, np.zeros_like(projected)], axis=-1)
    return {
        "tokens": forward.tokens,
        "input_ids": forward.input_ids,
        "layers": layer_names(n_rows),
        "norms": norms.tolist(),  # [layer][pos]
        "cos_next": cos_next.tolist(),  # [layer][pos]: layer l vs l+1
        "cos_last": cos_last.tolist(),  # [layer][pos]: layer l vs the last
        "pca": {
            "first_position": first,
            "points": projected.tolist(),  # [layer][pos - first][2]
            "explained_variance_ratio": pca.explained_variance_ratio_.tolist(),
        },
        "last_row": "residual stream after the last layer, before the final norm",
    }
