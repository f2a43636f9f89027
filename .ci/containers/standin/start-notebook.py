#!/usr/bin/env python3
"""Stand-in for docker-stacks' start-notebook.py: start JupyterLab on all interfaces."""

import os
import sys

command = os.environ.get("DOCKER_STACKS_JUPYTER_CMD", "lab")
port = os.environ.get("JUPYTER_PORT", "8888")
os.execvp("jupyter", ["jupyter", command, "--ip=0.0.0.0", f"--port={port}", "--no-browser", *sys.argv[1:]])
