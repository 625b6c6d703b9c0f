#!/usr/bin/env bash
# The CloudWatch agent's configuration (nginx and bootstrap logs, memory and disk), and
# the agent itself on Ubuntu (Amazon Linux got it from dnf). Idempotent.
set -euo pipefail

log() { printf '[%s] %s\n' "${0##*/}" "$*"; }

BUILD_DIR=${BUILD_DIR:?BUILD_DIR must name the uploaded build folder}
AGENT_DIR=/opt/aws/amazon-cloudwatch-agent
CONFIG=$AGENT_DIR/etc/amazon-cloudwatch-agent.json

install -d -m 0755 "$AGENT_DIR/etc"
install -m 0644 "$BUILD_DIR/files/cloudwatch/amazon-cloudwatch-agent.json" "$CONFIG"
log "config in $CONFIG"

if [[ ! -x $AGENT_DIR/bin/amazon-cloudwatch-agent-ctl ]] && command -v dpkg >/dev/null; then
    if [[ -n ${CLOUDWATCH_AGENT_URL:-} ]]; then
        log "installing the agent from $CLOUDWATCH_AGENT_URL"
        package=$(mktemp --suffix=.deb)
        curl -fsSL --retry 3 -o "$package" "$CLOUDWATCH_AGENT_URL"
        dpkg -i "$package"
        rm -f "$package"
    else
        log "CLOUDWATCH_AGENT_URL is empty: configuration only, no agent"
    fi
fi

if [[ -x $AGENT_DIR/bin/amazon-cloudwatch-agent-ctl ]]; then
    # Translate the config now (no -s: do not start the agent in the build instance);
    # the agent's own unit starts it at boot.
    "$AGENT_DIR/bin/amazon-cloudwatch-agent-ctl" -a fetch-config -m ec2 -c "file:$CONFIG"
    if command -v systemctl >/dev/null; then
        systemctl enable amazon-cloudwatch-agent.service
    fi
fi
log "done"
