#!/usr/bin/env bash
# The main job on the bundled sample store: a full backup, a day of mail, a differential, the list of
# sets, and a restore that is checked file by file against the store.
source "$(dirname "$0")/setup.sh" "zip unzip" "all"

work="${1:-$(mktemp -d -t workbench-demo.XXXXXX)}"
mkdir -p "$work"
rm -rf "$work/server" && cp -a data/samples/kerio "$work/server"
cat > "$work/workbench.toml" <<TOML
store = "server"
target = "backups"
volume_size = "1MiB"
keep = 3
min_free = 0
TOML
export WORKBENCH_CONFIG="$work/workbench.toml"

workbench backup full
python -m workbench.samples mutate "$work/server" --seed 1
workbench backup differential
workbench sets
workbench rotate --dry-run
rm -rf "$work/restored"
workbench restore --to "$work/restored"
diff -r "$work/server" "$work/restored" && echo "restore matches the store byte for byte: $work/restored"
for v in "$work"/backups/*.zip; do unzip -tqq "$v"; done && echo "every volume passes unzip -t"
