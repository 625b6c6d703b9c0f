"""Operator tooling for cloudblog: plain Python, run as `python -m ops`.

It drives the application only through `manage.py` subprocesses and HTTP and never
imports `blog` (DESIGN.md, section 2). Today it holds the local cluster
(`python -m ops cluster --help`); snapshots and the AMI lifecycle come later.
"""
