"""Near-duplicate search with MinHash over character n-grams, vectorised with numpy.

Character n-grams work for Chinese (no word boundaries) as well as English. All texts are
hashed in one pass: code points of every text are concatenated, n-gram hashes computed
with array arithmetic, and the per-text minimum of each permuted hash taken with
``np.minimum.reduceat``. Candidate pairs come from LSH banding and are confirmed with the
exact Jaccard similarity of their n-gram sets. Deterministic (fixed seeds, no ``hash()``).
"""

from __future__ import annotations

import unicodedata
import numpy as np

__all__ = ["jaccard", "near_duplicate_pairs", "normalize", "shingles"]

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def normalize(text: str) -> str:
    """NFKC, lower case, whitespace collapsed: what "the same text" means here."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def shingles(text: str, n: int = 4) -> set[str]:
    t = normalize(text)
    if len(t) <= n:
        return {t}
    return {t[i : i + n] for i in range(len(t) - n + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def _mix(x: np.ndarray) -> np.ndarray:
    # splitmix64 finaliser: spreads the bits of the polynomial n-gram hash
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _signatures(texts: list[str], n: int, perms: int) -> np.ndarray:
    norm = [normalize(t) for t in texts]
    # each text contributes max(1, len - n + 1) n-grams; pad short texts to length n
    padded = [t if len(t) >= n else t + "\x00" * (n - len(t)) for t in norm]
    lengths = np.fromiter((len(t) for t in padded), dtype=np.int64, count=len(padded))
    counts = lengths - n + 1
    codes = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    with np.errstate(over="ignore"):
        h = np.zeros(len(codes) - n + 1 if len(codes) >= n else 0, dtype=np.uint64)
        for k in range(n):
            h = h * np.uint64(1_000_003) + codes[k : len(codes) - n + 1 + k]
        # keep only n-grams that lie inside one text
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        keep = np.zeros(len(h), dtype=bool)
        idx = np.repeat(starts, counts) + (
            np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        )
        keep[idx] = True
        h = _mix(h[keep])
        offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
        rng = np.random.default_rng(1234)
        a = rng.integers(1, 2**63, size=perms, dtype=np.uint64) | np.uint64(1)
        b = rng.integers(0, 2**63, size=perms, dtype=np.uint64)
        sig = np.empty((len(texts), perms), dtype=np.uint64)
        for p in range(perms):
            sig[:, p] = np.minimum.reduceat(_mix(h * a[p] + b[p]), offsets)
    return sig


def near_duplicate_pairs(
    texts: list[str],
    threshold: float,
    *,
    n: int = 4,
    bands: int = 16,
    rows: int = 4,
    query_from: int | None = None,
) -> list[tuple[int, int, float]]:
    """Pairs ``(i, j, jaccard)`` with ``i < j`` whose n-gram Jaccard is ``>= threshold``.

    With ``query_from=k`` only pairs with ``i < k <= j`` are returned (texts before ``k``
    are an index, texts from ``k`` on are queries: used for train/eval contamination).
    """
    if len(texts) < 2:
        return []
    sig = _signatures(texts, n, bands * rows)
    cands: set[tuple[int, int]] = set()
    for band in range(bands):
        key = np.zeros(len(texts), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for col in range(band * rows, (band + 1) * rows):
                key = _mix(key ^ sig[:, col])
        order = np.argsort(key, kind="stable")
        sk = key[order]
        edges = np.flatnonzero(np.diff(sk)) + 1
        for members_arr in np.split(order, edges):
            if len(members_arr) < 2:
                continue
            members = sorted(int(m) for m in members_arr)
            if len(members) > 200:  # a huge bucket is one cluster: pair all with its first
                cands.update((members[0], m) for m in members[1:])
                continue
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    cands.add((members[x], members[y]))
    if query_from is not None:
        cands = {(i, j) for i, j in cands if i < query_from <= j}
    out = []
    cache: dict[int, set[str]] = {}
    for i, j in sorted(cands):
        si = cache.setdefault(i, shingles(texts[i], n))
        sj = cache.setdefault(j, shingles(texts[j], n))
        jac = jaccard(si, sj)
        if jac >= threshold:
            out.append((i, j, round(jac, 4)))
    return out
