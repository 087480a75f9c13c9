# Shell helpers shared by the check, demo and bench scripts: run as the postgres user, throwaway installs.
# Sourced, not executed.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}

# PostgreSQL refuses to run as root; as root, run servers and test drivers as the postgres system user.
as_postgres() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# A fresh directory under /tmp that the postgres user can enter (mktemp alone gives 0700 root).
make_run_dir() {
	local dir
	dir=$(mktemp -d "/tmp/pgscreen-$1.XXXXXX")
	chmod 755 "$dir"
	echo "$dir"
}

# Give a directory to the user the servers run as.
give_to_postgres() {
	if [ "$(id -u)" -eq 0 ]; then
		chown -R postgres: "$@"
	fi
}

# Install PostgreSQL's own tree plus pgscreen under DEST, the way PostgreSQL's "make check" does: the
# binaries find share/ and lib/ relative to themselves, so tests never touch the system installation.
# Prints the bin directory of the throwaway installation.
temp_install() {
	local dest=$1 bindir sharedir pgroot
	bindir=$($PG_CONFIG --bindir)
	sharedir=$($PG_CONFIG --sharedir)
	pgroot=$(dirname "$bindir")
	mkdir -p "$dest$(dirname "$pgroot")" "$dest$(dirname "$sharedir")"
	# Hard links are instant; fall back to copying across file systems.
	cp -al "$pgroot" "$dest$(dirname "$pgroot")/" 2>/dev/null || cp -a "$pgroot" "$dest$(dirname "$pgroot")/"
	cp -al "$sharedir" "$dest$(dirname "$sharedir")/" 2>/dev/null || cp -a "$sharedir" "$dest$(dirname "$sharedir")/"
	# Whatever pgscreen a previous system-wide install left there must not stand in for this build.
	rm -f "$dest$pgroot"/lib/pgscreen*.so "$dest$sharedir"/extension/pgscreen*
	make -C "$REPO" -s install DESTDIR="$dest" >/dev/null
	echo "$dest$bindir"
}

# The pg_regress of the PGXS installation.
pg_regress_path() {
	echo "$(dirname "$($PG_CONFIG --pgxs)")/../test/regress/pg_regress"
}

# The Perl modules of PostgreSQL's TAP framework.
tap_perl_dir() {
	echo "$(dirname "$($PG_CONFIG --pgxs)")/../test/perl"
}

# Start a throwaway server from BINDIR with its data and socket under DIR, pgscreen preloaded; prints
# nothing, sets PGHOST/PGPORT/PGUSER for the caller. stop_server DIR BINDIR stops it.
start_server() {
	local dir=$1 bindir=$2 port=${3:-54329}
	mkdir -p "$dir"
	give_to_postgres "$dir"
	as_postgres "$bindir/initdb" -D "$dir/data" -U postgres --no-sync >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log"; return 1; }
	cat >>"$dir/data/postgresql.conf" <<CONF
shared_preload_libraries = 'pgscreen'
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
CONF
	as_postgres "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null || {
		cat "$dir/server.log"; return 1; }
	export PGHOST=$dir PGPORT=$port PGUSER=postgres
}

stop_server() {
	as_postgres "$2/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null 2>&1 || true
}
