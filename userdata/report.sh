#!/bin/bash
# The multipart user-data's shell part: runs once per instance in cloud-final, after
# systemd ran cloudblog-bootstrap, and puts the outcome on the console log, where
# `aws ec2 get-console-output` shows it without logging in.
set -u
if systemctl is-active --quiet cloudblog-bootstrap.service; then
    echo "cloudblog: bootstrap ok ($(cat /opt/cloudblog/RELEASE 2>/dev/null || echo '?'))"
else
    echo "cloudblog: bootstrap FAILED; its last lines:"
    journalctl -u cloudblog-bootstrap.service --no-pager -n 30 -o cat
    exit 1
fi
