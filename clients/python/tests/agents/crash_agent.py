"""Says what went wrong on stderr and exits with code 1 (a crashing agent for the tests)."""
import sys

print("something went wrong: the tool returned garbage", file=sys.stderr)
sys.exit(1)
