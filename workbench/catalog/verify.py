"""``read_verify``: workbench.verify's problems as a DataFrame."""

import pandas as pd

from .fleet import over_targets
from .frames import fixed_category, text, with_set_dtype
from .manifests import load_sets
from .settings import settings


VERIFY_COLUMNS = ("set", "file", "path", "mailbox", "problem")


def read_verify(target=None, set=None, level="catalog", seed=None, progress=None, config=None,
                **settings_):
    """Verification problems (workbench.verify) as a DataFrame, empty when all is well.

    Parameters
    ----------
    target : str, os.PathLike, Target or list of them, optional
        See read_sets (default: the config's target).
    set : str, optional
        One set (a differential is checked with what it needs from its full); default: every set.
    level : {"catalog", "data", "sample=P"}, default "catalog"
        ``catalog`` checks manifests, volume names and sizes and chains without reading data;
        ``data`` also inflates every member and checks its CRC-32 and size; ``sample=P`` does so
        for a random P % of the members.
    seed : int, optional
        Seed of the ``sample=P`` choice.
    progress : callable(Progress), optional
    config : Config or str, optional
        See read_sets; its settings (``max_member_size``, ``max_ratio``, ...) are verify's.
    **settings_
        Further configuration keys for the target (as for workbench.verify.verify).

    Returns
    -------
    pandas.DataFrame
        ``set`` (missing where the problem is not about one set), ``file`` (str: the volume or
        manifest file), ``path`` (str: the member), missing where the problem is not about one,
        ``mailbox`` (category: ``user@domain`` of the mailbox affected) and ``problem`` (str:
        what is wrong, in words).
    """
    from ..verify import verify
    cfg = settings(config)

    def build(t, server):
        problems = verify(set, level=level, seed=seed, progress=progress, target=t.url,
                          config=server.config, **settings_)
        rows = [p.as_dict() for p in problems]
        df = pd.DataFrame({
            "set": [r["set"] for r in rows],
            "file": text([r["volume"] for r in rows]),
            "path": text([r["path"] for r in rows]),
            "mailbox": fixed_category([r["user"] for r in rows],
                                      sorted({r["user"] for r in rows} - {None})),
            "problem": text([r["problem"] for r in rows]),
        }, columns=list(VERIFY_COLUMNS))
        return with_set_dtype(df, [str(s.name) for s in load_sets(t)[0]])

    return over_targets(target, None, build, cfg)
