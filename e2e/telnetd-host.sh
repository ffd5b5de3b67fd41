#!/usr/bin/env bash
# Serve a real telnet host on 127.0.0.1:PORT for end-to-end tests.
#
# Usage: telnetd-host.sh PORT [inetutils|busybox]
#
# Runs in the foreground (exec's socat, so this process's PID is socat's).
# Every TCP connection gets its own telnetd in inetd mode (the socket itself
# is its stdin/stdout, so TCP urgent data works), which runs /bin/sh on a
# fresh pty, without login, as the current user, in the current directory.
#
#   inetutils (default): /usr/sbin/telnetd -h -E /bin/sh
#       Negotiates TTYPE and NAWS (TERM and the pty size follow the client),
#       passes only TERM into the shell's environment, sends IAC DM as urgent
#       data after an interrupt. It waits for the client's answers to its
#       first option requests before starting the shell.
#   busybox: busybox telnetd -i -l /bin/sh -f /dev/null
#       Negotiates NAWS only; the shell inherits this script's environment.
#       Needs Debian's busybox-static (the plain busybox package has no telnetd).
#
# Stopping: killing socat stops new connections, but open sessions live on
# until their client disconnects. To end everything, start this script in its
# own process group and kill the group (e.g. Go: SysProcAttr{Setpgid: true},
# then syscall.Kill(-pid, SIGKILL)); the shells get SIGHUP and exit.
set -euo pipefail

port="${1:-}"
flavor="${2:-inetutils}"

if [[ ! "$port" =~ ^[0-9]+$ ]] || (( port < 1 || port > 65535 )); then
	echo "usage: $0 PORT [inetutils|busybox]" >&2
	exit 2
fi

need() {
	if ! command -v "$1" >/dev/null 2>&1; then
		echo "$0: $1 not found (install: $2)" >&2
		exit 127
	fi
}

need socat socat
case "$flavor" in
inetutils)
	need /usr/sbin/telnetd inetutils-telnetd
	server="/usr/sbin/telnetd -h -E /bin/sh"
	;;
busybox)
	need busybox busybox-static
	if ! busybox telnetd --help >/dev/null 2>&1; then
		echo "$0: this busybox has no telnetd applet (install busybox-static)" >&2
		exit 127
	fi
	server="$(command -v busybox) telnetd -i -l /bin/sh -f /dev/null"
	;;
*)
	echo "usage: $0 PORT [inetutils|busybox]" >&2
	exit 2
	;;
esac

exec socat "TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork" "EXEC:${server},nofork"
