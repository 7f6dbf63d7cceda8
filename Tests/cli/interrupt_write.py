#!/usr/bin/env python3
"""Sends a signal to a command while it writes its output, and reports what is left.

Usage: interrupt_write.py SIGNAL OUTPUT COMMAND...

Runs COMMAND (which writes OUTPUT), watches OUTPUT's folder for the hidden temporary
`.NAME.tmp-PID-…` and sends SIGNAL (INT, TERM or HUP; or KILL, which no process can
catch, to show that the check fails when the temporary stays) the moment it appears, then waits.
Prints one line: the exit status, whether the temporary is gone and whether OUTPUT
exists. Exit status 0 when the command died of the signal (status 128 + number, as a
shell reports it, or killed by it), left no temporary and no OUTPUT; 1 otherwise; 2 when
the temporary was never seen (the write was too quick to catch: nothing was tested), or
when SIGNAL is ignored in this process (and so in COMMAND, which must keep it ignored).
"""
import os
import signal
import subprocess
import sys
import time


def main(signal_name, output, command):
    number = getattr(signal, "SIG" + signal_name)
    if number != signal.SIGKILL and signal.getsignal(number) == signal.SIG_IGN:
        # Inherited as ignored (a shell without job control ignores SIGINT in what it starts
        # with &): the command keeps it ignored, as it must, so nothing can be tested here.
        print(f"SIG{signal_name} is ignored in this process, and so in the command: nothing tested")
        return 2
    folder = os.path.dirname(os.path.abspath(output))
    prefix = "." + os.path.basename(output) + ".tmp-"
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = None
    while process.poll() is None:
        names = [name for name in os.listdir(folder) if name.startswith(prefix)]
        if names:
            seen = names[0]
            process.send_signal(number)
            break
        time.sleep(0.0005)
    _, error = process.communicate(timeout=120)
    status = process.returncode
    left = [name for name in os.listdir(folder) if name.startswith(prefix)]
    if seen is None:
        print(f"the temporary never appeared while the command ran (exit {status}): nothing tested")
        return 2
    died = status in (-number, 128 + number)
    exists = os.path.exists(output)
    print(f"SIG{signal_name} while {seen} existed: exit {status}"
          f"{' (killed by the signal)' if died else ''}, temporaries left {left}, "
          f"{output if exists else 'no output'}{' exists' if exists else ''}"
          + (f", stderr: {error.decode(errors='replace').strip()[:200]}" if error else ""))
    return 0 if died and not left and not exists else 1


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[1] not in ("INT", "TERM", "HUP", "KILL"):
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
