"""Predictive validity on both bundled outcome samples, on held-out halves. Prints a table; asserts nothing.

    python benchmarks/validity_table.py [--splits 10]

For each sample and each of ``--splits`` random halvings (split k: an account is in the fitting half when
sha256(f"{k}:{account_id}") is even), on the *other* half:

- **default config** — AUC and top-decile lift of the packaged config's score;
- **suggested weights** — of the score under the weights ``backtest --suggest-weights`` fits on the first
  half (whether or not it would have written them), and whether it refused (interval includes zero);
- **headroom model** — of the cross-validated logistic model of ``csm_rules.analytics.headroom`` fitted on
  the first half (sub-scores + missing indicators).

Means and standard deviations over the splits.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics

import numpy as np

from csm_rules import load_config
from csm_rules.analytics.columns import SubscoreMatrix, reweight
from csm_rules.analytics.headroom import fit_logistic, headroom_features
from csm_rules.analytics.metrics import roc_auc, top_decile_lift
from csm_rules.analytics.suggest import suggest_weights
from csm_rules.sources.portfolio_files import FileSource, sample_outcomes_path

SAMPLES = ("sample_outcomes.jsonl", "sample_outcomes_realistic.jsonl")


def _fmt(values: list[float]) -> str:
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}" if len(values) > 1 else "n/a"


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--splits", type=int, default=10)
    args = parser.parse_args()
    config = load_config()
    columns = ("default", "suggested", "headroom")
    print("| sample | " + " | ".join(f"{c} AUC | {c} lift" for c in columns) + " | refused |")
    print("|---|---|---|---|---|---|---|---|")
    for name in SAMPLES:
        result, outcomes = FileSource(sample_outcomes_path().with_name(name)).read_with_outcomes()
        snapshots = result.snapshots
        matrix = SubscoreMatrix.from_snapshots(snapshots, config)
        churned: list[bool | None] = []
        for snapshot in snapshots:
            outcome = outcomes[snapshot.account_id]
            after = (
                outcome.churned and outcome.churn_date is not None and snapshot.as_of >= outcome.churn_date
            )
            churned.append(None if after else outcome.churned)
        counted = np.array([c is not None for c in churned])
        labels = np.array([bool(c) for c in churned])
        base_score = reweight(matrix, config.weights).score
        figures: dict[str, list[float]] = {k: [] for k in ("da", "dl", "sa", "sl", "ha", "hl")}
        refused = 0
        for split in range(args.splits):
            first = np.array(
                [hashlib.sha256(f"{split}:{i}".encode()).digest()[0] % 2 == 0 for i in matrix.account_ids]
            )
            fit_rows, test_rows = counted & first, counted & ~first
            suggestion = suggest_weights(
                matrix, [c if f else None for c, f in zip(churned, first, strict=True)]
            )
            refused += not suggestion.significant
            suggested_score = reweight(matrix, suggestion.weights_file()).score
            features = headroom_features(matrix.subscores, fit_rows)
            coef = fit_logistic(features[fit_rows], labels[fit_rows].astype(np.float64))
            model_risk = features @ coef[1:] + coef[0]
            rows = np.flatnonzero(test_rows)
            truth = labels[rows].tolist()
            for key, risk in (
                ("d", 100.0 - base_score[rows]),
                ("s", 100.0 - suggested_score[rows]),
                ("h", model_risk[rows]),
            ):
                auc = roc_auc(risk.tolist(), truth)
                lift = top_decile_lift(risk.tolist(), truth)
                assert auc is not None and lift is not None
                figures[key + "a"].append(auc)
                figures[key + "l"].append(lift)
        cells = [_fmt(figures[k]) for k in ("da", "dl", "sa", "sl", "ha", "hl")]
        print(f"| {name} | {' | '.join(cells)} | {refused} of {args.splits} |", flush=True)


if __name__ == "__main__":
    main()
