"""Writes its pid to the file given (whole, at once), then sleeps: a long-running agent for the tests."""
import os
import sys
import time

with open(sys.argv[1] + ".tmp", "w") as file:
    file.write(str(os.getpid()))
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 120)
