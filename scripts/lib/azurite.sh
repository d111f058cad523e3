# shellcheck shell=bash
# Azurite, the Azure Storage emulator (blob, queue and table), for the local
# stacks. Sourced by stack.sh, which defines log_step, die, TOOLS_DIR,
# wait_for_port and the pid file helpers.

AZURITE_VERSION=3.37.0
AZURITE_INSTALL_DIR="$TOOLS_DIR/azurite"
AZURITE_BIN="$AZURITE_INSTALL_DIR/node_modules/azurite/dist/src/azurite.js"

# Print the installed Azurite version, or nothing when it is not installed.
azurite_installed_version() {
  local package_json="$AZURITE_INSTALL_DIR/node_modules/azurite/package.json"
  [[ -f $package_json && -f $AZURITE_BIN ]] || return 0
  node -p "require(process.argv[1]).version" "$package_json"
}

# Install the pinned Azurite version into .local/tools/azurite with npm,
# unless it is already there. Installs Debian's nodejs and npm only when
# node or npm is missing.
ensure_azurite() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt_install nodejs npm
  fi

  local version
  version=$(azurite_installed_version)
  if [[ $version == "$AZURITE_VERSION" ]]; then
    log_step "azurite: version $version is installed; skipping npm install"
    return 0
  fi

  log_step "azurite: npm install azurite@$AZURITE_VERSION into $AZURITE_INSTALL_DIR"
  mkdir -p "$AZURITE_INSTALL_DIR"
  local install_log="$AZURITE_INSTALL_DIR/npm-install.log"
  npm install --prefix "$AZURITE_INSTALL_DIR" --no-audit --no-fund --save-exact \
    "azurite@$AZURITE_VERSION" >"$install_log" 2>&1 ||
    die_with_log "npm install azurite@$AZURITE_VERSION failed" "$install_log"

  version=$(azurite_installed_version)
  [[ $version == "$AZURITE_VERSION" ]] ||
    die "npm install finished but the installed Azurite version is '${version:-none}', expected $AZURITE_VERSION"
}

# Start Azurite on 127.0.0.1 with its data in STATE_DIR/data, its output in
# STATE_DIR/azurite.log and its pid in STATE_DIR/azurite.pid. Does nothing
# when the Azurite of STATE_DIR already runs.
# Usage: start_azurite STATE_DIR BLOB_PORT QUEUE_PORT TABLE_PORT
start_azurite() {
  local state_dir=$1 blob_port=$2 queue_port=$3 table_port=$4
  local pid_file="$state_dir/azurite.pid"
  local log_file="$state_dir/azurite.log"

  if pid_file_is_alive "$pid_file"; then
    local running_pid
    running_pid=$(read_pid "$pid_file")
    wait_for_port 127.0.0.1 "$blob_port" 30 "$running_pid" ||
      die "azurite (pid $running_pid) runs from $state_dir but does not accept connections on port $blob_port; stop it with 'kill $running_pid' and retry"
    log_step "azurite: already running (pid $running_pid) on 127.0.0.1:$blob_port"
    return 0
  fi
  local port
  for port in "$blob_port" "$queue_port" "$table_port"; do
    if port_is_open 127.0.0.1 "$port"; then
      die "port $port is in use by another program, so azurite cannot start"
    fi
  done

  mkdir -p "$state_dir/data"
  log_step "azurite: starting on 127.0.0.1:$blob_port (blob), $queue_port (queue), $table_port (table) (log: $log_file)"
  # --skipApiVersionCheck accepts Azure SDKs newer than this Azurite, and
  # --loose ignores headers and parameters that Azurite does not support
  # instead of failing the request. --disableTelemetry stops Azurite from
  # sending usage data out of the machine; with telemetry on and no internet,
  # Azurite 3.37.0 also never exits after SIGTERM.
  start_background "$pid_file" "$log_file" node "$AZURITE_BIN" \
    --blobHost 127.0.0.1 --blobPort "$blob_port" \
    --queueHost 127.0.0.1 --queuePort "$queue_port" \
    --tableHost 127.0.0.1 --tablePort "$table_port" \
    --location "$state_dir/data" \
    --skipApiVersionCheck --loose --disableTelemetry

  wait_for_port 127.0.0.1 "$blob_port" 60 "$(read_pid "$pid_file")" ||
    die_with_log "azurite did not start on port $blob_port" "$log_file"
}

# Stop the Azurite started from STATE_DIR, if it runs.
# Usage: stop_azurite STATE_DIR
stop_azurite() {
  stop_pid_file "$1/azurite.pid" azurite
}

# Succeed when the Azurite started from STATE_DIR runs.
# Usage: azurite_is_running STATE_DIR
azurite_is_running() {
  pid_file_is_alive "$1/azurite.pid"
}
