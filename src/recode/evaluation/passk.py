"""The unbiased pass@k estimator (Chen et al., 2021, "Evaluating Large Language Models Trained on Code").

Why not `c / n`: with n samples per task, the chance that at least one of k draws (without replacement)
is correct is 1 - C(n-c, k) / C(n, k). Computing it as a running product keeps it exact for large n
without huge binomials. k > n has no unbiased estimate, so it is an error, not a silent clamp.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from recode.errors import RecodeError


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn from n (c of them correct) is correct."""
    if n < 1 or k < 1:
        raise RecodeError(f"pass@k needs n >= 1 and k >= 1 (got n={n}, k={k})")
    if not 0 <= c <= n:
        raise RecodeError(f"pass@k needs 0 <= c <= n (got c={c}, n={n})")
    if k > n:
        raise RecodeError(
            f"pass@{k} needs at least {k} samples per task, but a task has only n={n}",
            hint=f"generate more samples (--n {k} or more) or lower --k",
        )
    if n - c < k:
        return 1.0
    fail = 1.0
    for i in range(n - c + 1, n + 1):
        fail *= 1.0 - k / i
    return 1.0 - fail


def parse_ks(value: str | Iterable[int]) -> list[int]:
    """`"1,5"` or `[1, 5]` -> sorted unique positive ks; a clear error for anything else."""
    items = value.split(",") if isinstance(value, str) else list(value)
    try:
        ks = sorted({int(str(item).strip()) for item in items if str(item).strip()})
    except ValueError:
        raise RecodeError(
            f"--k must be comma-separated integers, got {value!r}", hint="e.g. --k 1,5"
        ) from None
    if not ks or ks[0] < 1:
        raise RecodeError(f"--k must list positive integers, got {value!r}", hint="e.g. --k 1,5")
    return ks


def check_ks(ks: Sequence[int], sample_counts: Iterable[int]) -> None:
    """Fail early (before any execution) if some task has fewer samples than the largest k."""
    counts = list(sample_counts)
    if not counts:
        return
    smallest = min(counts)
    if max(ks) > smallest:
        raise RecodeError(
            f"pass@{max(ks)} needs at least {max(ks)} samples per task, but some task has only {smallest}",
            hint=f"generate more samples (--n {max(ks)} or more) or lower --k",
        )
