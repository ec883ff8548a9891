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


def normalize(text: str) -> str:
    """NFKC, lower case, whitespace collapsed: what "the same text" means here."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def shingles(text: str, n: int = 4) -> set[str]:
    return _shingle_set(normalize(text), n)


def _shingle_set(t: str, n: int) -> set[str]:
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


def _signatures(norm: list[str], n: int, perms: int, sample: int = 4) -> np.ndarray:
    texts = norm
    # each text contributes len - n + 1 n-grams; pad short texts to length n
    padded = [t if len(t) >= n else t + "\x00" * (n - len(t)) for t in norm]
    lengths = np.fromiter((len(t) for t in padded), dtype=np.int64, count=len(padded))
    ends = np.cumsum(lengths)
    codes = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    with np.errstate(over="ignore"):
        m = len(codes) - n + 1
        h = np.zeros(m, dtype=np.uint64)
        for k in range(n):
            h = h * np.uint64(1_000_003) + codes[k : m + k]
        # n-grams that straddle two texts are dropped; of the others we keep those whose
        # hash has two middle bits at 0 (a consistent 1-in-4 sample: equal n-grams are
        # kept alike), and mix only those
        keep = ((h >> np.uint64(29)) & np.uint64(sample - 1)) == 0
        # short texts keep every n-gram: a sample of a handful is too noisy
        short = np.repeat(lengths < 24 * sample, lengths)[:m]
        keep |= short
        for k in range(1, n):
            idx = ends - k
            keep[idx[idx < m]] = False
        owner = np.searchsorted(ends, np.flatnonzero(keep), side="right")
        h = _mix(h[keep])
        counts = np.bincount(owner, minlength=len(texts))
        offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
        # Permutations of one well-mixed hash by xor + odd multiply: two array ops per
        # permutation instead of a full re-mix (candidates are confirmed exactly).
        rng = np.random.default_rng(1234)
        masks = rng.integers(0, 2**63, size=perms, dtype=np.uint64)
        mults = rng.integers(0, 2**63, size=perms, dtype=np.uint64) | np.uint64(1)
        sig = np.empty((len(texts), perms), dtype=np.uint64)
        empty = counts == 0
        for p in range(perms):
            if len(h):
                # xor then multiply by an odd constant: a bijection of uint64 whose order
                # is far less correlated across permutations than xor alone
                col = np.minimum.reduceat(
                    (h ^ masks[p]) * mults[p], np.minimum(offsets, len(h) - 1)
                )
            else:
                col = np.zeros(len(texts), dtype=np.uint64)
            # a text with no sampled n-gram gets a signature of its own (no false pairs;
            # identical short texts are the exact-duplicate rule's job)
            col[empty] = _mix(np.flatnonzero(empty).astype(np.uint64) + np.uint64(p << 40))
            sig[:, p] = col
    return sig


def near_duplicate_pairs(
    texts: list[str],
    threshold: float,
    *,
    n: int = 4,
    bands: int = 8,
    rows: int = 5,
    query_from: int | None = None,
    normalized: bool = False,
) -> list[tuple[int, int, float]]:
    """Pairs ``(i, j, jaccard)`` with ``i < j`` whose n-gram Jaccard is ``>= threshold``.

    With ``query_from=k`` only pairs with ``i < k <= j`` are returned (texts before ``k``
    are an index, texts from ``k`` on are queries: used for train/eval contamination).
    ``normalized=True`` says the texts already went through :func:`normalize`.
    """
    if len(texts) < 2:
        return []
    norm = texts if normalized else [normalize(t) for t in texts]
    sig = _signatures(norm, n, bands * rows)
    # Within an LSH bucket, pair every member with the bucket's first member and with its
    # predecessor: linear in the bucket size (templated data makes buckets of thousands),
    # and enough to flag every later member of a cluster of near-identical texts.
    found: list[np.ndarray] = []
    for band in range(bands):
        key = np.zeros(len(texts), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for col in range(band * rows, (band + 1) * rows):
                key = _mix(key ^ sig[:, col])
        order = np.lexsort((np.arange(len(texts)), key))
        sk = key[order]
        same = np.concatenate(([False], sk[1:] == sk[:-1]))
        group_start = np.maximum.accumulate(np.where(~same, np.arange(len(sk)), 0))
        idx = np.flatnonzero(same)
        for pairs in (
            np.stack([order[group_start[idx]], order[idx]], axis=1),
            np.stack([order[idx - 1], order[idx]], axis=1),
        ):
            if query_from is not None:  # only index-query pairs count: drop the rest early
                lo, hi = pairs.min(axis=1), pairs.max(axis=1)
                pairs = pairs[(lo < query_from) & (hi >= query_from)]
            found.append(pairs)
    cand = np.unique(np.concatenate(found), axis=0) if found else np.empty((0, 2), np.int64)
    cand = cand[cand[:, 0] != cand[:, 1]]
    cand.sort(axis=1)
    if query_from is not None:
        cand = cand[(cand[:, 0] < query_from) & (cand[:, 1] >= query_from)]
    # Jaccard estimated from the signatures (std ~0.06 at 40 permutations) drops pairs
    # that cannot reach the threshold; the rest get the exact n-gram Jaccard
    est = (sig[cand[:, 0]] == sig[cand[:, 1]]).mean(axis=1)
    keep = est >= threshold - 0.1
    cand = cand[keep]
    out: list[tuple[int, int, float]] = []
    grams = _GramSets(norm, n)
    for i, j in cand.tolist():
        jac = grams.jaccard(i, j, threshold)
        if jac is not None and jac >= threshold:
            out.append((i, j, round(jac, 4)))
    out.sort()
    return out


class _GramSets:
    """Exact n-gram sets of normalised texts, as sorted arrays of packed code points.

    The same sets as :func:`shingles` (so the same Jaccard values), ~10x cheaper to build
    and intersect than sets of substrings: each n-gram of a text whose code points all fit
    in ``64 // n`` bits is packed into one ``uint64`` (exact, no hashing). Texts shorter
    than ``n`` or with wider code points (emoji) fall back to sets of substrings.
    """

    def __init__(self, norm: list[str], n: int) -> None:
        self.norm, self.n = norm, n
        self.bits = 64 // n
        self._packed: dict[int, np.ndarray | None] = {}
        self._sets: dict[int, set[str]] = {}

    def _array(self, i: int) -> np.ndarray | None:
        if i in self._packed:
            return self._packed[i]
        t, n = self.norm[i], self.n
        arr: np.ndarray | None = None
        if len(t) >= n and n * 16 <= 64:
            codes = np.frombuffer(t.encode("utf-32-le"), dtype=np.uint32)
            if int(codes.max()) < (1 << self.bits):
                c = codes.astype(np.uint64)
                m = len(c) - n + 1
                g = c[:m].copy()
                for k in range(1, n):
                    g <<= np.uint64(self.bits)
                    g |= c[k : m + k]
                # np.unique's overhead is several times the work on a few hundred items
                g.sort()
                first = np.empty(m, dtype=bool)
                first[0] = True
                np.not_equal(g[1:], g[:-1], out=first[1:])
                arr = g[first]
        self._packed[i] = arr
        return arr

    def _set(self, i: int) -> set[str]:
        if i not in self._sets:
            self._sets[i] = _shingle_set(self.norm[i], self.n)
        return self._sets[i]

    def jaccard(self, i: int, j: int, threshold: float) -> float | None:
        """Exact Jaccard of texts ``i`` and ``j``; ``None`` when it is surely below
        ``threshold`` (the smaller set over the larger one bounds it)."""
        a, b = self._array(i), self._array(j)
        if a is None or b is None:
            return jaccard(self._set(i), self._set(j))
        la, lb = len(a), len(b)
        if min(la, lb) < threshold * max(la, lb) - 1e-9:
            return None
        if la > lb:
            a, b, la, lb = b, a, lb, la
        # each of the smaller set's grams looked up in the larger one (both sorted and
        # unique): a third of np.intersect1d's cost, which concatenates and sorts both
        at = np.searchsorted(b, a)
        at[at == lb] = 0
        inter = int(np.count_nonzero(b[at] == a))
        return inter / (la + lb - inter)
