"""A map of hidden states per layer: the residual stream of one token of each prompt (or of every token of one
prompt) projected to two dimensions at every layer, each layer on its own (projection.py), with how well the
author's labels separate there."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.common import block_index, layer_names, resolve_position
from lmreport.analyses.hidden_map import projection
from lmreport.analyses.hidden_map.inputs import MAX_TOKENS, MIN_NONLINEAR_POINTS, prompt_list
from lmreport.errors import AnalysisError
from lmreport.models.forward import ForwardPass, LoadedModel

NEEDS = frozenset({"hidden_states"})


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    import numpy as np

    one_prompt = options["prompt"] is not None
    points, states = _tokens(forward, options) if one_prompt else _prompts(forward, options, model)
    if one_prompt and options["method"] != "pca" and len(points) < MIN_NONLINEAR_POINTS:
        raise AnalysisError(f"method {options['method']} needs at least {MIN_NONLINEAR_POINTS} points; the prompt "
                            f"gives {len(points)} (use pca, or a longer prompt)", "method")
    stacked = np.stack(states, axis=1)  # [layer+1, point, d]
    coords, variance = projection.project(stacked, options["method"], options["seed"])
    labels = [point["label"] for point in points]
    layer = block_index(options["layer"], stacked.shape[0] - 1)
    if layer is None:  # the build checks the layer against the model first (indexes="layer")
        raise AnalysisError(f"layer {options['layer']} is out of range", "layer")
    return {
        "method": options["method"],
        "seed": options["seed"] if options["method"] != "pca" else None,
        "tokens_of_one_prompt": one_prompt,
        "prompts": prompt_list(options),
        "labels": [label for label, _ in options["examples"]] if options["examples"] is not None else [],
        "points": points,
        "layers": layer_names(stacked.shape[0]),
        "layer": layer + 1,  # the row the slider opens on: block n makes row n
        "coords": coords.tolist(),  # [layer][point][2]
        "variance": variance.tolist() if variance is not None else None,  # [layer][axis]
        "separation": projection.separation(stacked, labels),  # [layer], in the full hidden space
        "map_separation": projection.separation(coords, labels),  # [layer], of the drawn points
    }


def _prompts(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> tuple[list[dict], list]:
    """A point per prompt: its token at `position`, its state at every layer [layer+1, d], its label's number."""
    label_of = {prompt: i for i, (_, prompts) in enumerate(options["examples"] or []) for prompt in prompts}
    points, states = [], []
    for i, prompt in enumerate(prompt_list(options)):
        pass_ = forward if i == 0 else model.forward(prompt, NEEDS)
        position = resolve_position(options["position"], len(pass_.tokens))
        points.append({"prompt": i, "position": position, "token": pass_.tokens[position],
                       "label": label_of.get(prompt)})
        states.append(pass_.hidden_states[:, position, :].double().numpy())
    return points, states


def _tokens(forward: ForwardPass, options: dict[str, Any]) -> tuple[list[dict], list]:
    """A point per token of the one prompt (from the second with skip_first_token)."""
    n = len(forward.tokens)
    if n > MAX_TOKENS:
        raise AnalysisError(f"the prompt is {n} tokens long; hidden_map draws at most {MAX_TOKENS} points", "prompt")
    first = 1 if options["skip_first_token"] and n > 1 else 0
    points = [{"prompt": 0, "position": p, "token": forward.tokens[p], "label": None} for p in range(first, n)]
    states = [forward.hidden_states[:, p, :].double().numpy() for p in range(first, n)]
    return points, states
