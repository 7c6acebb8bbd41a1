#!/bin/sh
# The official mariadb image's start, reduced to what Rivetr relies on: MARIADB_ROOT_PASSWORD,
# MARIADB_DATABASE, MARIADB_USER, MARIADB_PASSWORD (or the MYSQL_* names the mysql image reads)
# initialise the data directory on the first start (root@'%' as that image makes it); then
# the server in the foreground, so SIGTERM from the container's init reaches it.
set -eu

if [ "${1#-}" != "$1" ]; then
    set -- mariadbd "$@"
fi
case "$1" in mariadbd | mysqld) server=1 ;; *) server="" ;; esac

if [ -n "$server" ] && [ "$(id -u)" = 0 ]; then
    mkdir -p /var/lib/mysql /run/mysqld
    chown -R mysql:mysql /var/lib/mysql /run/mysqld
    exec setpriv --reuid=mysql --regid=mysql --init-groups "$0" "$@"
fi

# dash's echo would read backslashes in a password as escapes: printf passes them through
sql() { printf '%s\n' "$1"; }
# a value inside '...' in SQL, and a name inside `...`
literal() { printf "'%s'" "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/''/g")"; }
name() { printf '`%s`' "$(printf '%s' "$1" | sed -e 's/`/``/g')"; }

if [ -n "$server" ] && [ ! -d /var/lib/mysql/mysql ]; then
    root_password="${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}"
    database="${MARIADB_DATABASE:-${MYSQL_DATABASE:-}}"
    user="${MARIADB_USER:-${MYSQL_USER:-}}"
    password="${MARIADB_PASSWORD:-${MYSQL_PASSWORD:-}}"
    if [ -z "$root_password" ]; then
        echo "error: database is uninitialized and MARIADB_ROOT_PASSWORD is not set" >&2
        exit 1
    fi
    mariadb-install-db --datadir=/var/lib/mysql --skip-test-db --auth-root-authentication-method=normal \
        >/dev/null
    socket=/run/mysqld/init.sock
    mariadbd --skip-networking --socket="$socket" &
    pid=$!
    i=0
    until mariadb-admin --socket="$socket" -uroot ping >/dev/null 2>&1; do
        i=$((i + 1))
        [ "$i" -lt 120 ] || { echo "error: the init server did not start" >&2; exit 1; }
        sleep 0.5
    done
    {
        sql "SET @@SESSION.SQL_LOG_BIN = 0;"
        # install-db's password-less root@127.0.0.1, root@::1, root@<hostname> would match
        # before root@'%': only root@localhost stays, as in the official image
        sql "DELETE FROM mysql.global_priv WHERE Host <> 'localhost' OR User = '';"
        sql "FLUSH PRIVILEGES;"
        sql "ALTER USER 'root'@'localhost' IDENTIFIED BY $(literal "$root_password");"
        sql "CREATE USER 'root'@'%' IDENTIFIED BY $(literal "$root_password");"
        sql "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
        if [ -n "$database" ]; then
            sql "CREATE DATABASE IF NOT EXISTS $(name "$database");"
        fi
        if [ -n "$user" ] && [ -n "$password" ]; then
            sql "CREATE USER $(literal "$user")@'%' IDENTIFIED BY $(literal "$password");"
            if [ -n "$database" ]; then
                sql "GRANT ALL ON $(name "$database").* TO $(literal "$user")@'%';"
            fi
        fi
    } | mariadb --socket="$socket" -uroot
    MYSQL_PWD="$root_password" mariadb-admin --socket="$socket" -uroot shutdown
    wait "$pid" || true
    echo "MariaDB init process done. Ready for start up."
fi

exec "$@"
