"""Whether each row's top token of the logits x @ Wᵀ is a given token, without computing every logit in float32: for
the gain test of the logit lens, which needs no more than that of each cell's plain (gain-free) logits, although
computing them all costs as much as the lens itself (a 49,152 × 576 unembedding at every row and position).

First witnesses (differs): a token whose float32 logit beats the lens's top token settles the cell as changed. Each
coordinate's largest and smallest weight's token, at most 2·d of them, settle most of the cells where the gain
matters (a plain vector is dominated by its few largest coordinates): 85-95% of SmolLM2's.

The rest are screened (top_tokens). On a CPU with bfloat16 arithmetic the whole product in bfloat16 takes a quarter
of the float32 time, and its error has a bound: with bfloat16's unit roundoff u = 2⁻⁸, rounding x and w costs at
most (2u + u²)·Σ|xᵢwᵢ|, a float32 sum of d products at most γ_d = d·2⁻²⁴/(1 − d·2⁻²⁴) times that (for the bfloat16
product and for the float32 one), and the bfloat16 result one more u; and Σ|xᵢwᵢ| ≤ |x|·|w| (Cauchy–Schwarz). So
|bf16 logit − float32 logit| ≤ slack(d)·|x|·|w_v| for every token v, and the float32 top token is among the tokens
whose bfloat16 logit plus that bound reaches the screen's best token's bfloat16 logit minus its bound: a few dozen
of 49,152 on SmolLM2. The tokens are kept in order of |w_v| in blocks of BLOCK, so that one maximum per block and
the block's largest |w_v| rule out most blocks at once.

The logits both steps compare are computed in float32 by the same matrix product as the full one, on the same rows:
MKL gives a column the same bits whatever other columns are asked for (with at least 16 of them), so every answer
is the one the full product's argmax gives, the lowest id among equal logits included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lmreport.models.forward import LoadedModel

BF16_UNIT = 2.0**-8
BLOCK = 64
MIN_COLUMNS = 256  # columns asked of a float32 product at least (with fewer than 16, MKL may sum in another order)


def slack(d: int) -> float:
    """The bound's factor for vectors of d coordinates (see the module's docstring), with one u to spare."""
    gamma = d * 2.0**-24 / (1 - d * 2.0**-24)
    return 4 * BF16_UNIT + 3 * BF16_UNIT**2 + 2 * gamma * (1 + BF16_UNIT) ** 2


@dataclass(frozen=True)
class Screen:
    """The unembedding in bfloat16, its tokens in order of norm, padded with zero rows to whole blocks."""

    weight: Any  # [padded vocab, d] bfloat16: row j is token order[j]
    order: Any  # [vocab] token ids
    norms: Any  # [padded vocab] float32, |w| of row j (0 for padding)
    block_norms: Any  # [blocks] the largest of each block's norms
    vocab: int


def _screen(weight: Any) -> Screen:
    import torch

    norms = weight.norm(dim=-1)
    order = norms.argsort()
    pad = (-len(order)) % BLOCK
    rows = torch.cat([weight[order].bfloat16(), weight.new_zeros(pad, weight.shape[1], dtype=torch.bfloat16)])
    sorted_norms = torch.cat([norms[order], norms.new_zeros(pad)])
    return Screen(rows, order, sorted_norms, sorted_norms.view(-1, BLOCK).amax(-1), len(order))


def usable(unembed: Any) -> bool:
    """Whether the screen applies and pays: a float32 unembedding without bias on a CPU with bfloat16 arithmetic
    (AVX-512 BF16 or AMX; elsewhere the bfloat16 product is slower than float32's), products by MKL (whose columns
    keep their bits whatever other columns are asked for)."""
    import torch

    weight = getattr(unembed, "weight", None)
    if not isinstance(unembed, torch.nn.Linear) or unembed.bias is not None or weight is None:
        return False
    if not torch.backends.mkl.is_available():
        return False
    if weight.dtype != torch.float32 or weight.device.type != "cpu":
        return False
    checks = (getattr(torch.cpu, "_is_avx512_bf16_supported", None), getattr(torch.cpu, "_is_amx_tile_supported", None))
    return any(check is not None and check() for check in checks)


def differs(model: LoadedModel, unembed: Any, x: Any, per_chunk: int, tops: Any) -> Any | None:
    """Per row of x [rows, d] (float32, CPU): whether argmax(x @ Wᵀ), as the full product computed per_chunk rows at a
    time gives it, is another token than tops[row] (W the unembedding's weight); None where the screen cannot tell.

    A row is settled at once when a witness beats its token: a token whose float32 logit is higher (or as high, with
    a lower id, which argmax would take first); the rows no witness settles are screened (top_tokens)."""
    import torch

    weight = unembed.weight.detach()
    if not bool(torch.isfinite(x).all()):
        return None
    witnesses = model.derived("logit_lens.witnesses", lambda: torch.cat([weight.argmax(0), weight.argmin(0)]))
    beaten = torch.empty(len(x), dtype=torch.bool)
    with torch.no_grad():
        for start in range(0, len(x), per_chunk):
            end = min(len(x), start + per_chunk)
            own = tops[start:end]
            columns = torch.cat([witnesses, own, torch.arange(min(MIN_COLUMNS, weight.shape[0]))]).unique()
            logits = torch.nn.functional.linear(x[start:end], weight[columns])  # the full product's bits (see above)
            mine = logits.gather(1, torch.searchsorted(columns, own)[:, None])
            beaten[start:end] = ((logits > mine) | ((logits == mine) & (columns < own[:, None]))).any(-1)
    out = beaten.clone()
    rest = (~beaten).nonzero()[:, 0]
    if len(rest):
        found = top_tokens(model, unembed, x, per_chunk, rest)
        if found is None:
            return None
        out[rest] = found != tops[rest]
    return out


def top_tokens(model: LoadedModel, unembed: Any, x: Any, per_chunk: int, rows: Any) -> Any | None:
    """argmax(x @ Wᵀ) for the rows of x [rows, d] (float32, CPU) that rows names, as the full product computed per_chunk
    rows at a time gives it, W the unembedding's weight; None where the screen cannot tell (a kernel that breaks
    the bound): compute it in full."""
    import torch

    weight = unembed.weight.detach()
    screen = model.derived("logit_lens.screen", lambda: _screen(weight))
    n, d = len(rows), x.shape[1]
    with torch.no_grad():
        approx = torch.nn.functional.linear(x[rows].bfloat16(), screen.weight)  # [rows, padded vocab], by norm
        approx[:, screen.vocab:] = float("-inf")
        blocks = approx.view(n, -1, BLOCK)
        block_max = blocks.amax(-1).float()  # [rows, blocks]
        best, best_block = block_max.max(-1)
        at = best_block * BLOCK + blocks[torch.arange(n), best_block].argmax(-1)  # the screen's top token
        margin = slack(d) * x[rows].norm(dim=-1)  # [rows]; times |w_v| bounds the error at token v
        floor = best - margin * screen.norms[at]  # at most the float32 logit of that token
        # Blocks that may hold a token reaching the floor, then the tokens in them that may.
        row, block = (block_max + margin[:, None] * screen.block_norms >= floor[:, None]).nonzero(as_tuple=True)
        at_block = block[:, None] * BLOCK + torch.arange(BLOCK)  # [candidate blocks, BLOCK]
        near = blocks[row, block].float() + margin[row, None] * screen.norms[at_block] >= floor[row, None]
        row, tokens = rows[row[:, None].expand_as(at_block)[near]], screen.order[at_block[near]]
        top = torch.empty(n, dtype=torch.long)
        for start in range(0, len(x), per_chunk):
            end = min(len(x), start + per_chunk)
            mine = ((rows >= start) & (rows < end)).nonzero()[:, 0]
            if not len(mine):
                continue
            # Every candidate of these rows, and every other column asked is a real token too: a row's argmax over
            # them is its argmax over the vocabulary (a token as high as the top is one of the row's candidates).
            # All the chunk's rows are computed, as the full product computes them.
            asked = tokens[(row >= start) & (row < end)]
            columns = torch.cat([asked, torch.arange(min(MIN_COLUMNS, screen.vocab))]).unique()  # sorted ids
            value, index = torch.nn.functional.linear(x[start:end], weight[columns])[rows[mine] - start].max(-1)
            if bool((value < floor[mine]).any()):
                return None
            top[mine] = columns[index]
        return top
