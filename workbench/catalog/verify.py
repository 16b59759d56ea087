"""``read_verify``: workbench.verify's problems as a DataFrame."""

import pandas as pd

from .frames import over_targets


def read_verify(target, set=None, level="catalog", seed=None, progress=None, **settings):
    """Verification problems (workbench.verify) as a DataFrame, empty when all is well.

    Parameters
    ----------
    target : str, os.PathLike, Target or list of them
        See read_sets.
    set : str, optional
        One set (a differential is checked with what it needs from its full); default: every set.
    level : {"catalog", "data", "sample=P"}, default "catalog"
        ``catalog`` checks manifests, volume names and sizes and chains without reading data;
        ``data`` also inflates every member and checks its CRC-32 and size; ``sample=P`` does so
        for a random P % of the members.
    seed : int, optional
        Seed of the ``sample=P`` choice.
    progress : callable(Progress), optional
    **settings
        Further configuration keys for the target (as for workbench.verify.verify).

    Returns
    -------
    pandas.DataFrame
        ``set``, ``volume``, ``path`` (str, missing where the problem is not about one),
        ``user`` (category: ``user@domain`` of the mailbox affected) and ``problem`` (str: what
        is wrong, in words).
    """
    from ..verify import verify

    def build(t):
        problems = verify(set, level=level, seed=seed, progress=progress, target=t.url,
                          **settings)
        rows = [p.as_dict() for p in problems]
        return pd.DataFrame({
            "set": pd.Series([r["set"] for r in rows], dtype="str"),
            "volume": pd.Series([r["volume"] for r in rows], dtype="str"),
            "path": pd.Series([r["path"] for r in rows], dtype="str"),
            "user": pd.Categorical([r["user"] for r in rows]),
            "problem": pd.Series([r["problem"] for r in rows], dtype="str"),
        })

    return over_targets(target, None, build)
