#!/usr/bin/env python3
"""Runs one command and prints its wall time, CPU time and peak memory: the measuring half of
Scripts/benchmark-fit.

    timed.py OUT ERR COMMAND [ARGUMENT ...]

The command's standard output goes to OUT and its standard error to ERR. Printed, on one line:
wall seconds (time.perf_counter around fork, exec and wait, microsecond resolution, where GNU
time's elapsed time has 10 ms), CPU seconds (user + system of the child, from wait4) and the
child's peak resident set size in kB (ru_maxrss). Exits with the command's status (128 + N
for signal N); nothing is printed then.
"""
import os
import signal
import sys
import time


def main() -> int:
    if len(sys.argv) < 4:
        print("usage: timed.py OUT ERR COMMAND [ARGUMENT ...]", file=sys.stderr)
        return 64
    out_path, err_path, command = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            try:
                signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # as a shell would start it
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                os.execvp(command[0], command)
            except OSError as error:
                os.write(2, f"timed.py: cannot run {command[0]}: {error.strerror}\n".encode())
            finally:
                os._exit(127)
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    if os.WEXITSTATUS(status) != 0:
        return os.WEXITSTATUS(status)
    print(f"{wall:.6f} {usage.ru_maxrss} {usage.ru_utime + usage.ru_stime:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
