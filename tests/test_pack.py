"""Parallel packing: worker processes give the same results as threads, in order, whatever the
caller's main module is (a script piped on stdin, a notebook)."""

import os
import subprocess
import sys

from workbench.archive import pack
from workbench.archive.compress import checksum

from helpers import make_store, store_snapshot


def test_processes_and_threads_agree_in_order(tmp_path, monkeypatch):
    store = make_store(tmp_path / "server", messages=150, seed=8)
    paths = sorted(store_snapshot(store))
    stats = {p: os.stat(os.path.join(store, p)) for p in paths}
    (tmp_path / "server" / paths[3]).unlink()  # vanished between walk and read
    items = [(p, p, p.endswith(".eml"), stats[p].st_size, stats[p].st_mtime_ns, pack.PACK)
             for p in paths]
    items.insert(10, ("streamed", "big", False, 0, 0, pack.STREAM))
    threads = list(pack.pack_files(store, items, 3, total_files=1, total_bytes=1))
    monkeypatch.setattr(pack, "_PROCESS_MIN_FILES", 0)
    procs = list(pack.pack_files(store, items, 3, total_files=1, total_bytes=1))
    assert [k for k, _ in procs] == [k for k, _ in threads] == [i[0] for i in items]
    assert procs == threads
    assert procs[10] == ("streamed", None)
    assert procs[3] == (paths[3], pack.Failed("vanished", "deleted during the backup"))
    key, packed = procs[0]
    data = (tmp_path / "server" / key).read_bytes()
    assert packed.size == len(data) and packed.crc32 == checksum(data)


def test_workers_run_when_main_is_stdin(tmp_path):
    # multiprocessing's spawn and forkserver re-run the caller's main script in each worker,
    # which breaks for code piped on stdin; our workers must not care.
    store = make_store(tmp_path / "server", messages=40, seed=2)
    code = ("import workbench, workbench.archive.pack as p\n"
            "p._PROCESS_MIN_FILES = 0\n"
            f"r = workbench.backup('full', store={store!r}, target={str(tmp_path / 'bk')!r}, min_free=0)\n"
            "print(r.stored)\n")
    out = subprocess.run([sys.executable, "-"], input=code, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == len(store_snapshot(store))


def test_workers_run_at_a_lower_priority():
    # The process that walks the store and writes the volumes must not wait for the CPU behind
    # its own compressors (nor should the mail server).
    assert pack._WORKER_NICE > 0
    with pack._ProcessPool(1) as pool:
        [proc] = pool.procs
        pool.submit(None, "/", [], 1).result()  # the worker has started and answered
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, proc.pid) == min(19, mine + pack._WORKER_NICE)


def test_a_worker_whose_answers_cannot_be_read_fails_the_run_rather_than_hang(tmp_path):
    # Bytes that are no pickle on a worker's answer pipe (seen with a profiler attached to the
    # workers) stop its reader thread. The worker lives on, waiting for its next request, or
    # blocked on a pipe nobody reads: waiting for it to exit hung the backup for good.
    import threading
    store = make_store(tmp_path / "server", messages=5, seed=3)
    path = sorted(store_snapshot(store))[0]
    st = os.stat(os.path.join(store, path))
    outcome = []
    with pack._ProcessPool(1) as pool:
        [proc] = pool.procs
        pool.submit(None, "/", [], 1).result()  # started and answering
        with open(f"/proc/{proc.pid}/fd/1", "wb") as answers:
            answers.write(b">not a pickle\n")

        def ask():
            try:
                pool.submit(None, store, [(path, False, st.st_size, st.st_mtime_ns)], 1).result()
            except Exception as e:
                outcome.append(e)

        asker = threading.Thread(target=ask, daemon=True)
        asker.start()
        asker.join(60)
        hung = asker.is_alive()
        if hung:
            proc.kill()
    assert not hung, "the answer of a worker whose pipe carried garbage never came"
    [error] = outcome
    assert type(error) is RuntimeError
    assert f"backup worker process {proc.pid}" in str(error)
    assert "answers could not be read" in str(error) and "invalid load key" in str(error)
