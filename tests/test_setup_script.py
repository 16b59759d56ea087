"""scripts/setup.sh waits for another package manager's lock instead of failing: apt-get runs
with DPkg::Lock::Timeout, and apt-get update (which does not honour it) is tried again while
the lists lock is held. apt-get and dpkg-query are stand-ins here: the machine's package
database is never touched."""

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "apt-install.sh"
LOCKED = "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)"


def fake_tools(tmp_path, locked_updates, other_error=""):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "apt.log"
    count = tmp_path / "updates"
    (bin_dir / "dpkg-query").write_text("#!/bin/sh\necho 'deinstall ok config-files'\n")
    (bin_dir / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    (bin_dir / "apt-get").write_text(f"""#!/bin/bash
echo "$*" >> {log}
case " $* " in *" update "*)
    n=$(cat {count} 2>/dev/null || echo 0); echo $((n + 1)) > {count}
    if [ -n "{other_error}" ]; then echo "{other_error}" >&2; exit 100; fi
    if [ "$n" -lt {locked_updates} ]; then echo "{LOCKED}" >&2; exit 100; fi ;;
esac
exit 0
""")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    return bin_dir, log


def run(tmp_path, bin_dir, **env):
    return subprocess.run(["bash", str(SCRIPT), "zip unzip"], capture_output=True, text=True,
                          env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
                               "WORKBENCH_APT_RETRY": "0", **env})


def test_apt_waits_for_the_lock_held_by_another_package_manager(tmp_path):
    bin_dir, log = fake_tools(tmp_path, locked_updates=2)
    p = run(tmp_path, bin_dir)
    assert p.returncode == 0, p.stderr
    calls = log.read_text().splitlines()
    assert [c.split()[-1] if "update" in c else "install" for c in calls] == [
        "-qq", "-qq", "-qq", "install"]
    assert all(c.startswith("-o DPkg::Lock::Timeout=600 ") for c in calls), calls
    assert calls[-1].endswith("install -y -qq --no-install-recommends zip unzip")
    assert p.stderr.count("waiting for another package manager") == 1


def test_apt_gives_up_after_the_wait_and_says_why(tmp_path):
    bin_dir, log = fake_tools(tmp_path, locked_updates=1000)
    p = run(tmp_path, bin_dir, WORKBENCH_APT_LOCK_WAIT="0")
    assert p.returncode == 1 and "held the apt lock for 0 s" in p.stderr
    assert "install" not in log.read_text()


def test_apt_fails_at_once_for_anything_but_the_lock(tmp_path):
    bin_dir, log = fake_tools(tmp_path, locked_updates=0, other_error="E: network unreachable")
    p = run(tmp_path, bin_dir)
    assert p.returncode == 1 and "network unreachable" in p.stderr
    assert len(log.read_text().splitlines()) == 1


def test_setup_sh_installs_through_it():
    setup = (SCRIPT.parent / "setup.sh").read_text()
    assert 'bash scripts/apt-install.sh "$1"' in setup and "apt-get" not in setup
