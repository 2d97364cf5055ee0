"""Linear probes: time per layer and in all of the `probe` analysis, on subject number.

    python -m bench.probe [--repeat 3] [--positions=-1,1] [--out bench/results-probe.json]

On the embedded SmolLM2, 64 prompts: 16 subject nouns, each singular and plural, each followed by a preposition
and a second noun, singular or plural ("The key to the cabinets", "The keys to the cabinet"), labelled by the
subject's number; 5 folds, C = 1, seed 0, one thread, warm (one call of each first), medians of `repeat`.

Timed at the first position (-1: the last token, the second noun, whose number says nothing of the subject's):
the hidden states of every prompt in batches of one length (the analysis's way) against one forward pass per
prompt (the build's ForwardPass, hidden states only), with the largest difference between the two; the probe and
control fits of each layer (folds × 2 logistic regressions); the whole compute. The accuracy, control accuracy
and selectivity of every layer are written for each position asked (1: the subject's noun).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

# subject (singular, plural), preposition, second noun (singular, plural)
NOUNS = [("key", "keys", "to", "cabinet", "cabinets"), ("dog", "dogs", "near", "car", "cars"),
         ("teacher", "teachers", "of", "student", "students"), ("book", "books", "on", "shelf", "shelves"),
         ("bird", "birds", "in", "tree", "trees"), ("door", "doors", "of", "room", "rooms"),
         ("picture", "pictures", "on", "wall", "walls"), ("girl", "girls", "by", "window", "windows"),
         ("boy", "boys", "behind", "house", "houses"), ("flower", "flowers", "in", "garden", "gardens"),
         ("lamp", "lamps", "on", "table", "tables"), ("letter", "letters", "from", "friend", "friends"),
         ("road", "roads", "to", "village", "villages"), ("cat", "cats", "under", "box", "boxes"),
         ("player", "players", "on", "team", "teams"), ("song", "songs", "by", "singer", "singers")]


def subject_number() -> dict[str, list[str]]:
    """The labelled prompts: each subject with both numbers of the second noun, so that the last word's number
    is the subject's as often as not."""
    examples: dict[str, list[str]] = {"singular": [], "plural": []}
    for one, many, preposition, other, others in NOUNS:
        for label, subject in (("singular", one), ("plural", many)):
            examples[label] += [f"The {subject} {preposition} the {other}", f"The {subject} {preposition} the {others}"]
    return examples


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.probe", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--positions", default="-1,1", help="positions to probe; the first is timed")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results-probe.json")
    args = p.parse_args(argv)

    import torch

    from lmreport import analyses, models
    from lmreport.analyses.probe.probing import control_labels, fold_accuracies, stratified_folds
    from lmreport.analyses.probe.states import states_at

    torch.set_num_threads(1)
    loaded = models.load(models.resolve(args.model))
    spec = analyses.get("probe")
    positions = [int(x) for x in args.positions.split(",")]
    examples = subject_number()
    prompts = examples["singular"] + examples["plural"]
    classes = [0] * len(examples["singular"]) + [1] * len(examples["plural"])
    encoded = [loaded.encode(prompt) for prompt in prompts]
    at = [positions[0] % len(ids) for ids in encoded]

    def batched() -> torch.Tensor:
        return states_at(loaded, encoded, at)

    def one_by_one() -> torch.Tensor:
        for prompt in prompts:
            loaded.forget(prompt)
        return torch.stack([loaded.forward(prompt, {"hidden_states"}).hidden_states[:, a]
                            for prompt, a in zip(prompts, at, strict=True)])

    states, alone = batched(), one_by_one()  # warm
    difference = float((states - alone).abs().max())
    batched_s = _median(batched, args.repeat)
    alone_s = _median(one_by_one, args.repeat)
    features = states.double().numpy()
    folds = spec.option_map["folds"].default
    fold_of = stratified_folds(classes, folds, 0)
    control = control_labels([ids[a] for ids, a in zip(encoded, at, strict=True)], classes, 0)

    def fit_layer(row: int) -> None:
        fold_accuracies(features[:, row], classes, fold_of, folds, 1.0)
        fold_accuracies(features[:, row], control, fold_of, folds, 1.0)

    fit_layer(0)  # warm: scikit-learn's first fit loads its modules
    per_layer = [_median(lambda row=row: fit_layer(row), args.repeat) for row in range(features.shape[1])]
    results: dict[str, Any] = {}
    compute_s = 0.0
    for i, position in enumerate(positions):
        options = spec.parse_options({"examples": examples, "position": position})
        first = loaded.forward(prompts[0], spec.needs)
        data = spec.run(first, options, loaded)
        if i == 0:
            compute_s = _median(lambda o=options, f=first: spec.compute(f, o, loaded), args.repeat)
        results[str(position)] = _summary(data, spec.values)
    report = {
        "model": loaded.source.name,
        "prompts": len(prompts),
        "rows": features.shape[1],
        "d_model": features.shape[2],
        "folds": folds,
        "lengths": sorted({len(ids) for ids in encoded}),
        "timed_position": positions[0],
        "batched_passes": len({len(ids) for ids in encoded}),
        "batched_s": batched_s,
        "one_pass_per_prompt_s": alone_s,
        "batching_speedup": alone_s / batched_s,
        "max_abs_difference": difference,
        "fit_s_per_layer": per_layer,
        "fit_s_per_layer_median": statistics.median(per_layer),
        "fit_s_all_layers": sum(per_layer),
        "compute_s": compute_s,
        "positions": results,
    }
    print(f"{report['model']}: {report['prompts']} prompts, {report['rows']} rows, {folds} folds, one thread, median "
          f"of {args.repeat}")
    print(f"hidden states: {batched_s:.3f} s in {report['batched_passes']} batched passes vs {alone_s:.3f} s one "
          f"pass per prompt (x{report['batching_speedup']:.1f}); largest difference {difference:.2g}")
    print(f"fits: {report['fit_s_per_layer_median'] * 1000:.1f} ms per layer (probe and control, {folds} folds each), "
          f"{report['fit_s_all_layers']:.2f} s for all; whole compute {compute_s:.2f} s")
    for position, found in results.items():
        print(f"position {position}: best layer {found['best_layer']} (selectivity {found['best_selectivity']:+.3f}); "
              f"baseline {found['baseline']:.3f}")
        for row, (a, c, s) in enumerate(zip(found["accuracy"], found["control"], found["selectivity"], strict=True)):
            print(f"  {row:3d}  accuracy {a:.3f}  control {c:.3f}  selectivity {s:+.3f}")
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _median(run: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _summary(data: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    return {"accuracy": data["accuracy"], "control": data["control"], "selectivity": data["selectivity"],
            "baseline": data["baseline"], "best_layer": values["best_layer"](data),
            "best_selectivity": values["best_selectivity"](data),
            "most_accurate_layer": values["most_accurate_layer"](data), "best_accuracy": values["best_accuracy"](data),
            "types": len({p["token_id"] for p in data["prompts"]}), "notes": data["notes"]}


if __name__ == "__main__":
    raise SystemExit(main())
