#!/bin/sh
# Firewall of a zkpilot sandbox, run through sudo by a host user. It learns which host calls
# from SUDO_UID (set by sudo, not by the caller) and only ever touches rules between that host
# and other hosts of this sandbox. `zkpilot sandbox up` fills in the values below, each quoted
# as one shell word.
set -eu
SLOT=@SLOT@
TABLE=@TABLE@
# Every host of the sandbox as UID=ADDRESS, separated by spaces.
HOSTS=@HOSTS@
# Every service address of the sandbox, separated by spaces (none without --services).
SERVICES=@SERVICES@

ME=
MYUID=
for pair in $HOSTS; do
  if [ "${pair%%=*}" = "${SUDO_UID:-}" ]; then MYUID=${pair%%=*}; ME=${pair#*=}; fi
done
if [ -z "$ME" ]; then echo "firewall: run it as a host of sandbox $SLOT, through sudo" >&2; exit 2; fi

# The uid of the host at address $1, or failure for an address outside this sandbox.
uid_of() {
  for pair in $HOSTS; do
    if [ "${pair#*=}" = "$1" ]; then echo "${pair%%=*}"; return 0; fi
  done
  return 1
}

service_ok() {
  for service in $SERVICES; do
    if [ "$service" = "$1" ]; then return 0; fi
  done
  return 1
}

# nft wants a comment as one quoted string; the quotes are part of the argument.
Q='"'
rules_of() {
  nft -a list chain inet "$TABLE" out | grep -F "comment ${Q}host $ME peer $1${Q}" | sed 's/.*# handle //'
}

service_rules() {
  nft -a list chain inet "$TABLE" svc 2>/dev/null | grep -F "comment ${Q}service $1${Q}" | sed 's/.*# handle //'
}

verb=${1:-}
[ "$#" -gt 0 ] && shift
# A service's rule is replaced in one nft transaction, so it never forwards nowhere meanwhile.
case "$verb" in
  route|unroute)
    service_ok "${1:-}" || { echo "firewall: ${1:-} is not a service of this sandbox" >&2; exit 2; }
    if [ "$verb" = route ]; then
      [ "$#" -eq 2 ] || { echo "usage: firewall route SERVICE_ADDRESS HOST_ADDRESS" >&2; exit 2; }
      uid_of "$2" >/dev/null || { echo "firewall: $2 is not a host of this sandbox" >&2; exit 2; }
    fi
    {
      for handle in $(service_rules "$1"); do echo "delete rule inet $TABLE svc handle $handle"; done
      [ "$verb" = unroute ] || echo "add rule inet $TABLE svc ip daddr $1 meta l4proto tcp dnat ip to $2 comment ${Q}service $1${Q}"
    } | nft -f -
    if [ "$verb" = route ]; then echo "service $1 -> $2"; else echo "service $1 deleted"; fi
    exit 0 ;;
esac
for peer in "$@"; do
  uid_of "$peer" >/dev/null || { echo "firewall: $peer is not a host of this sandbox" >&2; exit 2; }
  [ "$peer" != "$ME" ] || { echo "firewall: $peer is this host" >&2; exit 2; }
done
case "$verb" in
  block)
    for peer in "$@"; do
      [ -z "$(rules_of "$peer")" ] || { echo "$ME: $peer already blocked"; continue; }
      nft add rule inet "$TABLE" out meta skuid "$MYUID" ip daddr "$peer" meta l4proto tcp reject with tcp reset comment "${Q}host $ME peer $peer${Q}"
      nft add rule inet "$TABLE" out meta skuid "$(uid_of "$peer")" ip daddr "$ME" meta l4proto tcp reject with tcp reset comment "${Q}host $ME peer $peer${Q}"
      echo "$ME: blocked $peer"
    done ;;
  unblock)
    for peer in "$@"; do
      for handle in $(rules_of "$peer"); do nft delete rule inet "$TABLE" out handle "$handle"; done
      echo "$ME: unblocked $peer"
    done ;;
  list)
    nft list chain inet "$TABLE" out | grep -F "comment ${Q}host $ME peer " | sed 's/.*comment "host [^ ]* peer \([^"]*\)".*/blocked \1/' | sort -u
    nft list chain inet "$TABLE" svc 2>/dev/null | grep -F "comment ${Q}service " | sed 's/.*ip daddr \([^ ]*\) .*dnat ip to \([^ ]*\) .*/service \1 -> \2/' ;;
  *) echo "usage: firewall block|unblock PEER_ADDRESS... | list | route SERVICE HOST | unroute SERVICE" >&2; exit 2 ;;
esac
