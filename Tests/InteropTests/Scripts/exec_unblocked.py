"""Runs a program (argv[1:]) with no signal blocked. The Swift test process starts its children
with SIGTERM blocked (an inherited signal mask), so a program that does not reset its mask —
kcat — would ignore the SIGTERM a test sends it to close cleanly."""

import os
import signal
import sys

signal.pthread_sigmask(signal.SIG_SETMASK, [])
os.execvp(sys.argv[1], sys.argv[1:])
