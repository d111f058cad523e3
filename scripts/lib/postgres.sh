# shellcheck shell=bash
# PostgreSQL 15 with pgvector for the local stacks. Sourced by stack.sh,
# which defines log_step, die, apt_install and port_is_open.
#
# The server refuses to run as root, so as root every server command runs as
# the `postgres` user (created by the postgresql-common package) on a data
# folder that the scripts own under .local/.

PG_MAJOR=15
PG_CONFIG="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config"
PGVECTOR_MINIMUM_VERSION=0.8
# Where PGXS installs extensions for PG_MAJOR on Debian (pg_config --sharedir
# and --pkglibdir).
PG_SHARE_DIR="/usr/share/postgresql/$PG_MAJOR"
PG_PKGLIB_DIR="/usr/lib/postgresql/$PG_MAJOR/lib"

# Install the PostgreSQL server, its headers (for building pgvector) and the
# contrib modules when missing, and set PG_BIN_DIR to the server binaries,
# which Debian keeps off PATH.
ensure_postgres_installed() {
  apt_install "postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR" postgresql-contrib
  locate_postgres_binaries ||
    die "package postgresql-$PG_MAJOR is installed but contains no bin/initdb"
}

# Set PG_BIN_DIR to the folder of the PostgreSQL server binaries. Fails
# without installing anything when postgresql-15 is not installed.
locate_postgres_binaries() {
  local initdb_path
  initdb_path=$(dpkg -L "postgresql-$PG_MAJOR" 2>/dev/null | grep '/bin/initdb$' | head -n 1) || return 1
  [[ -n $initdb_path ]] || return 1
  PG_BIN_DIR=$(dirname "$initdb_path")
}

# Run a command as the postgres user when this script runs as root, and as
# the current user otherwise.
run_as_postgres() {
  if ((EUID == 0)); then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Run psql as the superuser `postgres` on the loopback cluster at PORT.
# Usage: postgres_psql PORT DATABASE [PSQL_ARG...]
postgres_psql() {
  local port=$1 database=$2
  shift 2
  PGOPTIONS="-c client_min_messages=warning" "$PG_BIN_DIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$database" "$@"
}

# Print the pgvector version whose files are installed for PG_MAJOR, or
# nothing when the control file or the shared library is missing.
pgvector_installed_version() {
  local control_file="$PG_SHARE_DIR/extension/vector.control"
  local library_file="$PG_PKGLIB_DIR/vector.so"
  [[ -f $control_file && -f $library_file ]] || return 0
  sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" "$control_file"
}

# Succeed when the version is at least PGVECTOR_MINIMUM_VERSION.
pgvector_version_is_enough() {
  [[ -n $1 ]] && dpkg --compare-versions "$1" ge "$PGVECTOR_MINIMUM_VERSION"
}

# Succeed when `CREATE EXTENSION vector` works on the cluster at PORT and
# creates version PGVECTOR_MINIMUM_VERSION or later. The trial runs in a
# transaction that is rolled back, so it leaves no extension behind.
pgvector_works_on_cluster() {
  local port=$1 version
  port_is_open 127.0.0.1 "$port" || return 1
  version=$(postgres_psql "$port" postgres -At 2>/dev/null <<'SQL'
BEGIN;
CREATE EXTENSION IF NOT EXISTS vector;
SELECT extversion FROM pg_extension WHERE extname = 'vector';
ROLLBACK;
SQL
  ) || return 1
  pgvector_version_is_enough "$version"
}

# Make pgvector >= PGVECTOR_MINIMUM_VERSION available to PostgreSQL 15.
# Debian bookworm has no pgvector package, so this builds Debian trixie's
# source package against the local server headers. Skips the build when the
# running cluster at the optional PORT already creates the extension, or when
# the installed extension files are recent enough.
# Usage: ensure_pgvector [PORT]
ensure_pgvector() {
  local port=${1:-} version
  if [[ -n $port ]] && pgvector_works_on_cluster "$port"; then
    log_step "pgvector: CREATE EXTENSION vector works on port $port; skipping the build"
    return 0
  fi
  version=$(pgvector_installed_version)
  if pgvector_version_is_enough "$version"; then
    log_step "pgvector: version $version is installed; skipping the build"
    return 0
  fi

  log_step "pgvector: installed version is '${version:-none}', need >= $PGVECTOR_MINIMUM_VERSION; building it from Debian trixie's source package"
  ((EUID == 0)) || die "building pgvector installs into /usr/lib/postgresql; run this script as root"
  apt_install dpkg-dev make gcc
  build_pgvector_from_source

  version=$(pgvector_installed_version)
  pgvector_version_is_enough "$version" ||
    die "pgvector build finished but the installed version is '${version:-none}', need >= $PGVECTOR_MINIMUM_VERSION"
  log_step "pgvector: version $version installed"
}

# Download pgvector's Debian trixie source package with a private apt
# configuration and build and install it with PGXS. The configuration lists
# only trixie's deb-src line and keeps its own package lists and cache, so
# the system's apt never sees trixie. Its pin (priority -1) also stops any
# trixie binary package from being installed through it.
build_pgvector_from_source() {
  local apt_dir="$TOOLS_DIR/apt-trixie-source"
  local build_dir="$TOOLS_DIR/pgvector-build"
  local build_log="$TOOLS_DIR/pgvector-build.log"

  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  cat >"$apt_dir/sources.list" <<'SOURCES'
# Source packages only, for building pgvector >= 0.8 (bookworm has no pgvector package).
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
SOURCES
  cat >"$apt_dir/preferences" <<'PREFERENCES'
# Never install a binary package from trixie on this bookworm machine.
Package: *
Pin: release n=trixie
Pin-Priority: -1
PREFERENCES

  local apt_options=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
    -o "Dir::Etc::Preferences=$apt_dir/preferences"
    -o "Dir::Etc::PreferencesParts=$apt_dir/preferences.d"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir/cache"
    # The download folder sits under .local/, which apt's unprivileged
    # `_apt` user may not be able to write, so apt downloads as root. apt
    # still checks every file against the signed trixie source index.
    -o APT::Sandbox::User=root
  )
  mkdir -p "$apt_dir/sources.list.d" "$apt_dir/preferences.d"

  log_step "pgvector: apt-get update of the private trixie source list"
  apt-get "${apt_options[@]}" update -qq >"$build_log" 2>&1 ||
    die_with_log "apt-get update of $apt_dir/sources.list failed" "$build_log"

  rm -rf "$build_dir"
  mkdir -p "$build_dir/download"
  log_step "pgvector: apt-get source --download-only pgvector"
  (cd "$build_dir/download" && apt-get "${apt_options[@]}" source --download-only pgvector) >>"$build_log" 2>&1 ||
    die_with_log "apt-get source pgvector failed" "$build_log"

  local dsc_files=("$build_dir"/download/pgvector_*.dsc)
  [[ -f ${dsc_files[0]} ]] || die_with_log "apt-get source pgvector downloaded no .dsc file" "$build_log"
  dpkg-source -x "${dsc_files[0]}" "$build_dir/source" >>"$build_log" 2>&1 ||
    die_with_log "dpkg-source -x ${dsc_files[0]} failed" "$build_log"

  log_step "pgvector: make && make install (log: $build_log)"
  {
    make -C "$build_dir/source" PG_CONFIG="$PG_CONFIG" &&
      make -C "$build_dir/source" PG_CONFIG="$PG_CONFIG" install
  } >>"$build_log" 2>&1 || die_with_log "building pgvector failed" "$build_log"

  rm -rf "$build_dir"
}

# Print the last lines of LOG_FILE and exit with an error.
# Usage: die_with_log MESSAGE LOG_FILE
die_with_log() {
  local message=$1 log_file=$2
  tail -n 20 "$log_file" >&2 || true
  die "$message; the full log is $log_file"
}

# Start a local-only cluster whose data folder is STATE_DIR/data, listening on
# 127.0.0.1:PORT. Runs initdb when the data folder is empty and does nothing
# when the cluster already runs on PORT. Each extra SETTING (name=value) is
# passed to the server as `-c SETTING`.
# Usage: start_postgres STATE_DIR PORT [SETTING...]
start_postgres() {
  local state_dir=$1 port=$2
  shift 2
  local data_dir="$state_dir/data"
  local log_file="$state_dir/postgres.log"

  mkdir -p "$data_dir"
  if ((EUID == 0)); then
    chown postgres:postgres "$state_dir" "$data_dir"
    grant_postgres_search_access "$(dirname "$state_dir")"
  fi
  chmod 700 "$state_dir" "$data_dir"
  run_as_postgres test -w "$data_dir" ||
    die "user postgres cannot write $data_dir; every folder above it must be searchable by user postgres"

  if [[ ! -f $data_dir/PG_VERSION ]]; then
    if [[ -n $(ls -A "$data_dir") ]]; then
      die "$data_dir is not empty but contains no cluster (no PG_VERSION); remove it to start afresh"
    fi
    initialize_cluster "$data_dir" "$log_file"
  fi

  if run_as_postgres "$PG_BIN_DIR/pg_ctl" status -D "$data_dir" >/dev/null 2>&1; then
    if run_as_postgres "$PG_BIN_DIR/pg_isready" -q -h 127.0.0.1 -p "$port"; then
      log_step "postgres: already running on 127.0.0.1:$port ($data_dir)"
      return 0
    fi
    die "the cluster in $data_dir is running but not ready on 127.0.0.1:$port; stop it with: runuser -u postgres -- $PG_BIN_DIR/pg_ctl stop -D $data_dir"
  fi
  if port_is_open 127.0.0.1 "$port"; then
    die "port $port is in use by another program, so the cluster in $data_dir cannot start"
  fi

  local server_options="-p $port" setting
  for setting in "$@"; do
    server_options+=" -c $setting"
  done
  log_step "postgres: starting on 127.0.0.1:$port (log: $log_file)"
  # setsid detaches the server from the terminal, so Ctrl-C in scripts/dev
  # stops only the processes that scripts/dev runs in the foreground.
  (
    close_held_locks
    run_as_postgres setsid "$PG_BIN_DIR/pg_ctl" start -D "$data_dir" -l "$log_file" -w -t 60 -o "$server_options" >/dev/null
  ) || die_with_log "postgres did not start on port $port" "$log_file"
  run_as_postgres "$PG_BIN_DIR/pg_isready" -q -h 127.0.0.1 -p "$port" -t 30 ||
    die_with_log "postgres started but is not ready on port $port" "$log_file"
}

# Let user postgres pass through DIR and every folder above it, which a
# clone under a private folder such as /root does not allow. Each folder
# that postgres cannot search gets an ACL entry for postgres alone (search
# only, no listing), so other users gain nothing.
grant_postgres_search_access() {
  local folder folders=()
  folder=$(realpath "$1")
  while [[ $folder != / ]]; do
    folders=("$folder" "${folders[@]}")
    folder=$(dirname "$folder")
  done

  # Walk from / down, because postgres can search a folder only when it can
  # search every folder above it.
  for folder in / "${folders[@]}"; do
    runuser -u postgres -- test -x "$folder" && continue
    apt_install acl
    log_step "postgres: granting user postgres search access to $folder (setfacl -m u:postgres:x)"
    setfacl -m u:postgres:x "$folder" ||
      die "setfacl on $folder failed; give user postgres search access to it, or clone the repository under a folder others can search"
  done
}

# Create a cluster in the empty DATA_DIR that listens only on loopback and
# trusts every loopback connection.
initialize_cluster() {
  local data_dir=$1 log_file=$2
  log_step "postgres: initdb $data_dir"
  # The server appends to this log later as postgres, so postgres creates it.
  run_as_postgres touch "$log_file"
  run_as_postgres "$PG_BIN_DIR/initdb" -D "$data_dir" -U postgres --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$log_file" 2>&1 ||
    die_with_log "initdb $data_dir failed" "$log_file"

  run_as_postgres tee "$data_dir/pg_hba.conf" >/dev/null <<'HBA'
# Local-only dev and test cluster: the server listens on 127.0.0.1 only and
# trusts every loopback connection without a password. Never put real
# customer data in it and never make it listen on another address.
# TYPE  DATABASE  USER  ADDRESS       METHOD
host    all       all   127.0.0.1/32  trust
HBA
  run_as_postgres tee -a "$data_dir/postgresql.conf" >/dev/null <<'CONF'

# Set by scripts/lib/postgres.sh. Only TCP on loopback: no Unix socket, so
# neither the socket path length limit nor the socket folder's permissions
# apply.
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
CONF
}

# Stop the cluster in STATE_DIR/data if it is running.
# Usage: stop_postgres STATE_DIR
stop_postgres() {
  local data_dir="$1/data"
  [[ -f $data_dir/PG_VERSION ]] || return 0
  if run_as_postgres "$PG_BIN_DIR/pg_ctl" status -D "$data_dir" >/dev/null 2>&1; then
    log_step "postgres: stopping ($data_dir)"
    run_as_postgres "$PG_BIN_DIR/pg_ctl" stop -D "$data_dir" -m fast -w -t 60 >/dev/null
  fi
}

# Succeed when the cluster in STATE_DIR/data is running.
# Usage: postgres_is_running STATE_DIR
postgres_is_running() {
  local data_dir="$1/data"
  [[ -f $data_dir/PG_VERSION ]] &&
    run_as_postgres "$PG_BIN_DIR/pg_ctl" status -D "$data_dir" >/dev/null 2>&1
}

# Create the platform's roles and databases on the cluster at PORT:
#   bondingai_owner  owns database bondingai and runs the migrations;
#   bondingai_app    the role the functions connect as: not an owner and
#                    NOBYPASSRLS, so row-level security applies to it;
#   bondingai        the platform database, with the vector extension;
#   localqueue       the durable stand-in for Service Bus queues, where the
#                    app role may create the stand-in's schema.
# Safe to run again: it creates only what is missing.
# Usage: create_databases PORT
create_databases() {
  local port=$1
  log_step "postgres: creating roles and databases on port $port"
  postgres_psql "$port" postgres <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bondingai_owner') THEN
    CREATE ROLE bondingai_owner LOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bondingai_app') THEN
    CREATE ROLE bondingai_app LOGIN NOBYPASSRLS;
  END IF;
END
$$;
ALTER ROLE bondingai_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;

SELECT 'CREATE DATABASE bondingai OWNER bondingai_owner'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'bondingai') \gexec
SELECT 'CREATE DATABASE localqueue OWNER bondingai_owner'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'localqueue') \gexec
GRANT CONNECT ON DATABASE bondingai TO bondingai_app;
GRANT CONNECT ON DATABASE localqueue TO bondingai_app;
-- The local queue creates its own schema when the app opens it, so the app
-- role needs CREATE there. localqueue holds no business data.
GRANT CREATE ON DATABASE localqueue TO bondingai_app;

\connect bondingai
CREATE EXTENSION IF NOT EXISTS vector;
GRANT USAGE ON SCHEMA public TO bondingai_app;

\connect localqueue
GRANT USAGE ON SCHEMA public TO bondingai_app;
SQL
}
