"""Where a restore reads from: the chosen set's manifest (loaded only when needed) and the volume
files its entries live in."""

from ..errors import NoCompleteBackup
from ..sets import COMPLETE, DAMAGED, base_of, read_manifest_of


def load_manifest(target, sets, info):
    """Load *info*'s manifest if it is ours and not loaded yet; check its full is still there."""
    if info.status not in (COMPLETE, DAMAGED) or info._doc is not None:
        return
    info.manifest = read_manifest_of(target, info)
    if base_of(sets, info) is None:
        raise NoCompleteBackup(f"set {info.name} is a differential whose full backup "
                               f"{info.manifest.get('base')} is gone; it cannot be restored")


def volume_files(sets, entries):
    """``(set name, volume) -> file name`` for every volume *entries* read (None if missing)."""
    by_name = {str(s.name): s for s in sets}
    out = {}
    for e in entries:
        key = (e.stored_in, e.volume)
        if key not in out:
            src = by_name.get(e.stored_in)
            out[key] = src.volumes[e.volume][0] if src and e.volume in src.volumes else None
    return out
