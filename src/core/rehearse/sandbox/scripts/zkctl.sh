#!/bin/sh
# Control script of a zkpilot sandbox host: the verbs an operator has on a real ZooKeeper
# server. It manages only this host's server, found through its PID file.
# `zkpilot sandbox up` fills in the values below, each quoted as one shell word.
set -u
NAME=@NAME@
HOST_DIR=@HOST_DIR@
# JVM flags, one word each: split on purpose where java is started.
JAVA_OPTS=@JAVA_OPTS@
CLASSPATH=@CLASSPATH@
FIREWALL=@FIREWALL@
CLIENT=@CLIENT@
CFG="$HOST_DIR/zoo.cfg"
PIDFILE="$HOST_DIR/zk.pid"
LOG="$HOST_DIR/zk.log"
DATA="$HOST_DIR/data"

usage() {
  cat >&2 <<EOF
usage: zkctl VERB
  start             start this host's ZooKeeper server (no-op if it runs)
  stop              stop it (SIGTERM, SIGKILL after 10 s)
  restart           stop, then start
  kill              SIGKILL it at once, as a crash would
  status            'running (pid N)' with exit 0, or 'stopped' with exit 3
  config            print zoo.cfg
  set-config        replace zoo.cfg with standard input (previous kept as zoo.cfg.prev)
  set-servers L...  replace the server.N= lines of zoo.cfg (or of its dynamic file) with these
  reconfig ARGS     dynamic reconfig through this server (3.5+): -add LINE, -remove ID...
  set-option K=V    set one zoo.cfg option, replacing any earlier value
  wipe-data         delete the data (snapshots and logs, not myid); refused while running
  data-empty        exit 0 when the data directory holds no snapshot or log, 1 otherwise
  set-myid N        give this host server id N (a replacement taking over an old server's id);
                    refused while running
  block-peers A...  firewall: reject every TCP connection between this host and hosts A...
  unblock-peers A...  remove those rules again
  firewall          list this host's firewall rules
  point-service S H   the stand-in Kubernetes service at address S forwards to host H from now on
                    (kubectl's part: a ClusterIP service and its endpoint)
  drop-service S    delete the service at address S
  log [N]           the last N (default 40) lines of the server log
EOF
  exit 2
}

# The live PID of this host's server, or failure. A late-reaped zombie still passes kill -0,
# so read the process state, and check the command line so a reused PID is never ours.
server_pid() {
  [ -r "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE" 2>/dev/null)
  case "$pid" in ''|*[!0-9]*) return 1 ;; esac
  state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
  case "$state" in ''|Z|X) return 1 ;; esac
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "QuorumPeerMain $CFG" || return 1
  echo "$pid"
}

wait_gone() {
  i=0
  while [ "$i" -lt "$1" ] && server_pid >/dev/null; do sleep 0.1; i=$((i + 1)); done
  ! server_pid >/dev/null
}

# With dynamic reconfig the server lines live in the file zoo.cfg names, which ZooKeeper
# itself replaces by a newer one after every reconfig.
servers_file() {
  dynamic=$(sed -n 's/^dynamicConfigFile=//p' "$CFG" | tail -n 1)
  if [ -n "$dynamic" ]; then echo "$dynamic"; else echo "$CFG"; fi
}

start() {
  if pid=$(server_pid); then echo "$NAME: already running (pid $pid)"; return 0; fi
  if ! grep -q '^server\.' "$(servers_file)" 2>/dev/null; then
    echo "$NAME: zoo.cfg has no server lines; give it a view first (set-servers)" >&2
    return 1
  fi
  mkdir -p "$DATA"
  echo "=== $(date -u +%FT%TZ) start" >> "$LOG"
  # shellcheck disable=SC2086 # JAVA_OPTS is a list of flags without glob characters
  setsid java $JAVA_OPTS -cp "$CLASSPATH" org.apache.zookeeper.server.quorum.QuorumPeerMain "$CFG" >> "$LOG" 2>&1 < /dev/null &
  echo "$!" > "$PIDFILE"
  # A bad config makes the JVM exit within a second: report that instead of a false start.
  sleep 1
  if pid=$(server_pid); then
    echo "$NAME: started (pid $pid)"
  else
    echo "$NAME: server exited at start; last log lines:" >&2
    tail -n 20 "$LOG" >&2
    return 1
  fi
}

stop() {
  if ! pid=$(server_pid); then rm -f "$PIDFILE"; echo "$NAME: not running"; return 0; fi
  kill -TERM "$pid" 2>/dev/null
  if ! wait_gone 100; then
    kill -KILL "$pid" 2>/dev/null
    wait_gone 50 || { echo "$NAME: pid $pid did not exit" >&2; return 1; }
  fi
  rm -f "$PIDFILE"
  echo "$NAME: stopped"
}

crash() {
  if ! pid=$(server_pid); then echo "$NAME: not running"; return 0; fi
  kill -KILL "$pid"
  wait_gone 50 || { echo "$NAME: pid $pid did not exit" >&2; return 1; }
  rm -f "$PIDFILE"
  echo "$NAME: killed"
}

replace_cfg() {
  tmp="$CFG.new.$$"
  cat > "$tmp" || { rm -f "$tmp"; return 1; }
  if ! grep -q . "$tmp"; then rm -f "$tmp"; echo "$NAME: refusing an empty zoo.cfg" >&2; return 1; fi
  cp "$CFG" "$CFG.prev" 2>/dev/null
  mv "$tmp" "$CFG"
  echo "$NAME: zoo.cfg replaced"
}

set_servers() {
  [ "$#" -gt 0 ] || { echo "$NAME: set-servers needs at least one server.N= line" >&2; return 2; }
  for line in "$@"; do
    case "$line" in
      server.[0-9]*=*) ;;
      *) echo "$NAME: not a server line: $line" >&2; return 2 ;;
    esac
  done
  file=$(servers_file)
  if [ "$file" = "$CFG" ]; then
    { grep -v '^server\.' "$CFG"; printf '%s\n' "$@"; } | replace_cfg
    return
  fi
  # A dynamic file names each server's client address too; the sandbox's is always :2181.
  tmp="$file.new.$$"
  for line in "$@"; do
    case "$line" in
      *\;*) printf '%s\n' "$line" ;;
      *) host=${line#*=}; printf '%s;%s:2181\n' "$line" "${host%%:*}" ;;
    esac
  done > "$tmp" && mv "$tmp" "$file" && echo "$NAME: $(basename "$file") replaced"
}

reconfig() {
  [ "$#" -gt 0 ] || { echo "$NAME: reconfig needs -add, -remove or -members arguments" >&2; return 2; }
  # shellcheck disable=SC2086 # JAVA_OPTS is a list of flags without glob characters
  out=$(java $JAVA_OPTS -cp "$CLASSPATH" org.apache.zookeeper.ZooKeeperMain -server "$CLIENT" reconfig "$@" 2>&1)
  echo "$out" | grep -v -e '^[0-9]* \[' -e '^$'
  # ZooKeeperMain exits 0 whatever happened: the answer says whether it was committed.
  echo "$out" | grep -q '^Committed new configuration' || { echo "$NAME: reconfig was not committed" >&2; return 1; }
}

set_option() {
  case "${1:-}" in
    [A-Za-z0-9]*=*) ;;
    *) echo "$NAME: set-option needs KEY=VALUE" >&2; return 2 ;;
  esac
  key=${1%%=*}
  { grep -v "^$key=" "$CFG"; printf '%s\n' "$1"; } | replace_cfg
}

wipe_data() {
  if pid=$(server_pid); then echo "$NAME: refusing to wipe data while running (pid $pid)" >&2; return 1; fi
  rm -rf "$DATA/version-2"
  echo "$NAME: data wiped"
}

verb=${1:-}
[ "$#" -gt 0 ] && shift
case "$verb" in
  start) start ;;
  stop) stop ;;
  restart) stop && start ;;
  kill) crash ;;
  status)
    if pid=$(server_pid); then echo "$NAME: running (pid $pid)"; else echo "$NAME: stopped"; exit 3; fi ;;
  config) cat "$CFG"; [ "$(servers_file)" = "$CFG" ] || cat "$(servers_file)" ;;
  set-config) replace_cfg ;;
  set-servers) set_servers "$@" ;;
  reconfig) reconfig "$@" ;;
  set-option) set_option "$@" ;;
  wipe-data) wipe_data ;;
  set-myid)
    case "${1:-}" in
      ''|*[!0-9]*) echo "$NAME: set-myid needs a server id" >&2; exit 2 ;;
    esac
    if pid=$(server_pid); then echo "$NAME: refusing to change the id while running (pid $pid)" >&2; exit 1; fi
    mkdir -p "$DATA" && printf '%s\n' "$1" > "$DATA/myid" && echo "$NAME: myid $1" ;;
  data-empty)
    files=$(find "$DATA/version-2" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    if [ "$files" -eq 0 ]; then echo "$NAME: no data"; else echo "$NAME: $files snapshot and log files in $DATA/version-2"; exit 1; fi ;;
  log) tail -n "${1:-40}" "$LOG" ;;
  block-peers) exec sudo -n "$FIREWALL" block "$@" ;;
  unblock-peers) exec sudo -n "$FIREWALL" unblock "$@" ;;
  firewall) exec sudo -n "$FIREWALL" list ;;
  point-service) exec sudo -n "$FIREWALL" route "$@" ;;
  drop-service) exec sudo -n "$FIREWALL" unroute "$@" ;;
  *) usage ;;
esac
