"""Integrated gradients that settle: the path cut into pieces where the scores have not, the worst piece first.

Integrated gradients integrate the gradient along the straight path from the baseline to the prompt. Captum
integrates it with one fixed rule (n_steps Gauss-Legendre points); on a real model the integrand can have a
spike far narrower than the spacing of 32 or even 512 points (SmolLM2 on "The capital of France is": f drops
6 nats within 0.3% of the path near a third of the way), and the scores then swing with the number of steps.

Here the path is integrated piece by piece with Captum's rule (its Gauss-Legendre points and weights, the same
sums as its IntegratedGradients; a piece from a to b is integrated gradients with the path's point at a as the
baseline and the point at b as the input; the pieces' scores add up to the whole path's).
The whole path is integrated first with `points` points; then, repeatedly, the piece with the largest estimated
error is cut in two halves, each integrated with `points` points. A piece's error is estimated as how far its
own scores are from the sum of its halves' (summed over the tokens, in absolute value), and each half is given
half of it until it is cut in turn: an upper estimate wherever the integrand is smooth. It stops when the
estimates add up to at most `allowed` (settled), or when the next cut would pass `max_points` (not settled).

The gradients are taken here, not through Captum's IntegratedGradients, so that one pass can also carry the
baseline: f(baseline) is needed for the error allowed (a share of f(prompt) - f(baseline)), and a pass of its
own, one input, costs on a CPU most of what a pass of 32 inputs does (the weights are read once a pass either
way); as one more row of the first gradient pass it costs a thirty-third of that pass.
"""

from __future__ import annotations

import heapq
import itertools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lmreport.progress import progress_bar


@dataclass
class Settled:
    scores: Any  # [n] per token
    points: int  # gradient evaluations spent
    pieces: int  # pieces the path ended cut into
    error: float  # estimated error of the scores (sum over tokens); inf when never estimated
    settled: bool
    f_baseline: float | None = None  # f(baseline), when it was computed in the first pass (allowed was a function)


def integrated_gradients(f: Any, x: Any, baseline: Any, points: int, max_points: int,
                         allowed: float | Callable[[float], float], batch: int) -> Settled:
    """Integrated gradients of f from baseline to x ([1, n, d] each), per token (summed over d), `batch` inputs a
    pass at most. `allowed` is the error allowed, or a function of f(baseline) giving it: f(baseline) is then
    computed as one more input of the first pass."""
    import torch
    from captum.attr._utils.approximation_methods import approximation_parameters

    # float32 whatever the model's dtype, as Captum's own weights are
    rules = approximation_parameters("gausslegendre")
    step_sizes, alphas = (torch.tensor(rule(points), device=x.device) for rule in rules)
    step = x - baseline
    f_baseline: list[float] = []

    def integrate(pieces: list[tuple[float, float]], extra: Any = None) -> list[Any]:
        """Each piece's scores [n]; f(extra) is appended to f_baseline when extra ([1, n, d]) is given."""
        starts = baseline + step * x.new_tensor([a for a, _ in pieces]).view(-1, 1, 1)
        ends = baseline + step * x.new_tensor([b for _, b in pieces]).view(-1, 1, 1)
        # Captum's layout: point-major ([points * pieces, n, d]), start + alpha * (end - start)
        inputs = starts.unsqueeze(0) + alphas.view(-1, 1, 1, 1) * (ends - starts).unsqueeze(0)
        inputs = inputs.flatten(0, 1).to(x.dtype)
        rows = [inputs] if extra is None else [inputs, extra]
        grads = []
        for chunk in torch.cat(rows).split(batch):
            chunk = chunk.detach().requires_grad_(True)
            with torch.enable_grad():
                values = f(chunk)
                path = min(len(values), len(inputs) - sum(len(g) for g in grads))  # the extra input is not on it
                (grad,) = torch.autograd.grad(values[:path].sum(), chunk)
            grads.append(grad[:path])
            if path < len(values):
                f_baseline.append(float(values[path].detach()))
        weighted = torch.cat(grads).view(points, len(pieces), *x.shape[1:]) * step_sizes.view(-1, 1, 1, 1)
        return list((weighted.sum(0) * (ends - starts)).sum(-1))

    order = itertools.count()  # breaks ties in the heap without comparing tensors
    used = points
    with progress_bar(max_points, "gradient", sys.stderr.isatty()) as bar:
        whole = integrate([(0.0, 1.0)], baseline if callable(allowed) else None)[0]
        if callable(allowed):
            allowed = allowed(f_baseline[0])
        bar.update(points)
        # (-estimated error, tie, a, b, scores); the whole path's error is not known until it is cut once
        heap = [(-float("inf"), next(order), 0.0, 1.0, whole)]
        while True:
            error = -sum(item[0] for item in heap)
            if error <= allowed or used + 2 * points > max_points:
                break
            _, _, a, b, scores = heapq.heappop(heap)
            middle = (a + b) / 2
            left, right = integrate([(a, middle), (middle, b)])
            used += 2 * points
            bar.update(2 * points)
            half = float((scores - left - right).abs().sum()) / 2
            heapq.heappush(heap, (-half, next(order), a, middle, left))
            heapq.heappush(heap, (-half, next(order), middle, b, right))
    total = sum(item[4] for item in heap)
    return Settled(total, used, len(heap), error, error <= allowed, f_baseline[0] if f_baseline else None)
