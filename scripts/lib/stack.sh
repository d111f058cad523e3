# shellcheck shell=bash
# shellcheck disable=SC2034 # Scripts that source this file use the variables.
# Settings and helpers shared by scripts/dev and scripts/test. Source this
# file from a script that runs with `set -euo pipefail`; it defines
# functions and variables and starts nothing by itself.

STACK_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$STACK_LIB_DIR/../.." && pwd)"

# Go is installed at /usr/local/go, which a non-login shell may not have on
# its PATH.
if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
  PATH="/usr/local/go/bin:$PATH"
fi

# All local state lives under LOCAL_DIR, which .gitignore excludes.
LOCAL_DIR="$REPO_ROOT/.local"
TOOLS_DIR="$LOCAL_DIR/tools"
MODEL_DIR="$LOCAL_DIR/models/use-lite"
TEST_LOCAL_DIR="$LOCAL_DIR/test"

# Ports of the dev stack (scripts/dev).
DEV_POSTGRES_PORT=54320
DEV_AZURITE_BLOB_PORT=10000
DEV_AZURITE_QUEUE_PORT=10001
DEV_AZURITE_TABLE_PORT=10002
WORKOS_STANDIN_PORT=7072
FUNCTIONS_HOST_PORT=7071

# Ports of the test stack (scripts/test). They differ from the dev ports so
# both stacks can run at the same time. The BONDINGAI_TEST_*_PORT variables
# move them, so test runs of two clones on one machine do not collide.
TEST_POSTGRES_PORT=${BONDINGAI_TEST_POSTGRES_PORT:-54321}
TEST_AZURITE_BLOB_PORT=${BONDINGAI_TEST_AZURITE_BLOB_PORT:-10010}
TEST_AZURITE_QUEUE_PORT=${BONDINGAI_TEST_AZURITE_QUEUE_PORT:-10011}
TEST_AZURITE_TABLE_PORT=${BONDINGAI_TEST_AZURITE_TABLE_PORT:-10012}

# Azurite's fixed development account. The key is published in the Azurite
# documentation and opens only a local emulator, so it is not a secret.
AZURITE_ACCOUNT_NAME=devstoreaccount1
AZURITE_ACCOUNT_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

# Print a one-line progress message to stderr.
log_step() {
  printf '==> %s\n' "$*" >&2
}

# Print an error to stderr and exit with status 1.
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Run a command and print how long it took, for install and start-up steps.
# Usage: run_timed DESCRIPTION COMMAND [ARG...]
run_timed() {
  local description=$1
  shift
  local started=$SECONDS
  "$@"
  log_step "$description: done in $((SECONDS - started)) s"
}

# Format a duration in seconds as "1m05s" or "42s".
format_duration() {
  local seconds=$1
  if ((seconds >= 60)); then
    printf '%dm%02ds' $((seconds / 60)) $((seconds % 60))
  else
    printf '%ds' "$seconds"
  fi
}

# Succeed when something accepts TCP connections on HOST:PORT.
port_is_open() {
  local host=$1 port=$2
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

# Wait until HOST:PORT accepts TCP connections. Fails after TIMEOUT_SECONDS,
# or as soon as the optional PID has exited, so a server that crashed at
# start-up is reported at once instead of after the timeout.
# Usage: wait_for_port HOST PORT TIMEOUT_SECONDS [PID]
wait_for_port() {
  local host=$1 port=$2 timeout_seconds=$3 pid=${4:-}
  local deadline=$((SECONDS + timeout_seconds))
  until port_is_open "$host" "$port"; do
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      printf 'error: process %s exited before %s:%s accepted connections\n' "$pid" "$host" "$port" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      printf 'error: timed out after %s s waiting for %s:%s\n' "$timeout_seconds" "$host" "$port" >&2
      return 1
    fi
    sleep 0.2
  done
}

# Print the pid stored in PID_FILE, or nothing when the file is missing.
# A pid file contains "PID START_TIME" (see start_background).
read_pid() {
  local pid_file=$1 pid start_time
  [[ -f $pid_file ]] || return 0
  read -r pid start_time <"$pid_file" || true
  printf '%s' "$pid"
}

# Succeed when the process in PID_FILE is alive and is the process that
# start_background started: after a reboot the pid may belong to another
# program, whose start time then differs from the recorded one.
pid_file_is_alive() {
  local pid_file=$1 pid start_time
  [[ -f $pid_file ]] || return 1
  read -r pid start_time <"$pid_file" || true
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  [[ -z $start_time || $(process_start_time "$pid") == "$start_time" ]]
}

# Start a command in the background in a session of its own, with its
# output appended to LOG_FILE, and write its pid to PID_FILE. The own session
# keeps Ctrl-C in a terminal from reaching it, and its process group lets
# stop_pid_file stop its child processes too.
# Usage: start_background PID_FILE LOG_FILE COMMAND [ARG...]
start_background() {
  local pid_file=$1 log_file=$2
  shift 2
  mkdir -p "$(dirname "$pid_file")" "$(dirname "$log_file")"
  # A background job of a script is never a process group leader, so setsid
  # does not fork, and after the two execs $! is the pid of COMMAND itself.
  (
    close_held_locks
    exec setsid "$@" >>"$log_file" 2>&1 </dev/null
  ) &
  local pid=$!
  disown "$pid"
  printf '%s %s\n' "$pid" "$(process_start_time "$pid")" >"$pid_file"
}

# Stop the process in PID_FILE and every process in its process group:
# SIGTERM, then SIGKILL for what is still alive after TIMEOUT_SECONDS.
# Removes the pid file. Does nothing when the process is not running.
# Usage: stop_pid_file PID_FILE NAME [TIMEOUT_SECONDS]
stop_pid_file() {
  local pid_file=$1 name=$2 timeout_seconds=${3:-15}
  local pid target deadline
  if ! pid_file_is_alive "$pid_file"; then
    rm -f "$pid_file"
    return 0
  fi
  pid=$(read_pid "$pid_file")
  # Signal the whole group when the process leads one (start_background
  # makes it so); otherwise only the process.
  target=$pid
  if [[ $(process_group_of "$pid") == "$pid" ]]; then
    target="-$pid"
  fi
  log_step "stopping $name (pid $pid)"
  kill -TERM -- "$target" 2>/dev/null || true
  deadline=$((SECONDS + timeout_seconds))
  while kill -0 -- "$target" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log_step "$name (pid $pid) did not stop within $timeout_seconds s; sending SIGKILL"
      kill -KILL -- "$target" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$pid_file"
}

# Print field NUMBER of /proc/PID/stat (see proc(5)), or nothing when the
# process is gone. Reading /proc directly needs no procps package.
# Usage: process_stat_field PID NUMBER
process_stat_field() {
  local stat fields
  stat=$(<"/proc/$1/stat") 2>/dev/null || return 0
  # Field 2 (the command name) may contain spaces, so split after its ")".
  # What is left starts with field 3.
  stat=${stat##*) }
  read -r -a fields <<<"$stat"
  printf '%s' "${fields[$2 - 3]}"
}

# Print the process group id of PID (field 5 of /proc/PID/stat).
process_group_of() {
  process_stat_field "$1" 5
}

# Print the start time of PID in clock ticks since boot (field 22).
process_start_time() {
  process_stat_field "$1" 22
}

# Build the connection string of an Azurite instance for the Azure SDKs.
# Usage: azurite_connection_string BLOB_PORT QUEUE_PORT TABLE_PORT
azurite_connection_string() {
  local blob_port=$1 queue_port=$2 table_port=$3
  printf 'DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=http://127.0.0.1:%s/%s;QueueEndpoint=http://127.0.0.1:%s/%s;TableEndpoint=http://127.0.0.1:%s/%s;' \
    "$AZURITE_ACCOUNT_NAME" "$AZURITE_ACCOUNT_KEY" \
    "$blob_port" "$AZURITE_ACCOUNT_NAME" \
    "$queue_port" "$AZURITE_ACCOUNT_NAME" \
    "$table_port" "$AZURITE_ACCOUNT_NAME"
}

# Lock file -> file descriptor, for every lock this script holds.
declare -A HELD_LOCK_FDS=()

# Take an exclusive lock on LOCK_FILE, waiting while another process holds
# it. The lock is released by release_lock or when the script exits.
# Usage: take_lock LOCK_FILE WAIT_MESSAGE
take_lock() {
  local lock_file=$1 wait_message=$2 lock_fd
  mkdir -p "$(dirname "$lock_file")"
  exec {lock_fd}>"$lock_file"
  if ! flock --nonblock "$lock_fd"; then
    log_step "$wait_message (lock $lock_file)"
    flock "$lock_fd"
  fi
  HELD_LOCK_FDS[$lock_file]=$lock_fd
}

# Release a lock taken by take_lock.
# Usage: release_lock LOCK_FILE
release_lock() {
  local lock_file=$1 lock_fd=${HELD_LOCK_FDS[$1]:-}
  [[ -n $lock_fd ]] || return 0
  exec {lock_fd}>&-
  unset "HELD_LOCK_FDS[$lock_file]"
}

# Close the descriptors of every held lock in the current shell. Call it in
# the subshell that starts a long-running server: a server that inherits a
# lock's descriptor keeps the lock held for as long as it runs.
close_held_locks() {
  local lock_fd
  for lock_fd in "${HELD_LOCK_FDS[@]}"; do
    exec {lock_fd}>&-
  done
  HELD_LOCK_FDS=()
}

# Run the install steps that follow under one lock, so two scripts (say
# scripts/dev and scripts/test) never run apt-get, npm or the pgvector build
# into the same folders at once.
acquire_install_lock() {
  take_lock "$TOOLS_DIR/install.lock" "waiting for another script to finish installing"
}

release_install_lock() {
  release_lock "$TOOLS_DIR/install.lock"
}

# Install Debian packages that are not installed yet. Runs `apt-get update`
# first only when one of them has no install candidate, which is the case on
# a machine whose package lists were never downloaded.
# Usage: apt_install PACKAGE...
apt_install() {
  local missing=() package
  for package in "$@"; do
    if ! dpkg_is_installed "$package"; then
      missing+=("$package")
    fi
  done
  ((${#missing[@]} > 0)) || return 0

  if ((EUID != 0)); then
    die "missing Debian packages: ${missing[*]}; run this script as root or install them with apt-get"
  fi
  for package in "${missing[@]}"; do
    if ! apt-cache policy "$package" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      log_step "apt-get update (no install candidate for $package)"
      apt_get_update
      break
    fi
  done
  local install_log="$TOOLS_DIR/apt-install.log"
  mkdir -p "$TOOLS_DIR"
  log_step "apt-get install ${missing[*]} (log: $install_log)"
  if ! apt_get_install "${missing[@]}" >"$install_log" 2>&1; then
    # Package lists older than the mirror name files it no longer has.
    log_step "apt-get install failed; refreshing the package lists and retrying once"
    apt_get_update
    apt_get_install "${missing[@]}" >"$install_log" 2>&1 ||
      die_with_log "apt-get install ${missing[*]} failed" "$install_log"
  fi
}

# DPkg::Lock::Timeout makes apt wait for another apt run instead of failing.
apt_get_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=600 "$@"
}

# Run `apt-get update`, retrying for up to 10 minutes while another apt run
# holds the package list lock (DPkg::Lock::Timeout covers only the dpkg lock).
apt_get_update() {
  local update_log="$TOOLS_DIR/apt-update.log" deadline=$((SECONDS + 600))
  mkdir -p "$TOOLS_DIR"
  until apt-get update -qq >"$update_log" 2>&1; do
    if ! grep -q 'Could not get lock' "$update_log" || ((SECONDS >= deadline)); then
      die_with_log "apt-get update failed" "$update_log"
    fi
    sleep 5
  done
}

# Succeed when the Debian package is fully installed.
dpkg_is_installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == 'install ok installed' ]]
}

# shellcheck source=scripts/lib/postgres.sh
source "$STACK_LIB_DIR/postgres.sh"
# shellcheck source=scripts/lib/azurite.sh
source "$STACK_LIB_DIR/azurite.sh"
# shellcheck source=scripts/lib/chromium.sh
source "$STACK_LIB_DIR/chromium.sh"
if [[ -f $STACK_LIB_DIR/model.sh ]]; then
  # shellcheck source=/dev/null
  source "$STACK_LIB_DIR/model.sh"
fi

# Fetch the embedding model weights into MODEL_DIR with ensure_model, which
# scripts/lib/model.sh defines.
ensure_embedding_model() {
  if ! declare -F ensure_model >/dev/null; then
    die "scripts/lib/model.sh is missing or does not define ensure_model, so the embedding weights cannot be fetched into $MODEL_DIR"
  fi
  ensure_model "$MODEL_DIR"
}

# Install the Debian documentation package whose 311-page PDF manual the
# extraction tests and scripts/bench read (/usr/share/doc/gnuplot/gnuplot.pdf).
ensure_test_documents() {
  apt_install gnuplot-doc
}
