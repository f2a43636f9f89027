#!/bin/bash
# Stand-in for docker-stacks' start.sh: run the container's command. The real script also runs
# hooks and can switch users when started as root, which the seatcast image does not use.
set -euo pipefail
exec "$@"
