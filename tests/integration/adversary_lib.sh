# Helpers for the adversarial host-exposure tests (test_adversarial_*.sh).
# Source after lib.sh:
#
#   source "$(dirname "$0")/lib.sh"
#   source "$(dirname "$0")/adversary_lib.sh"
#
# The host side watches its loopback two ways: a tripwire (TCP and UDP
# listeners on port $TRIP of 127.0.0.1, 127.1.2.3 and ::1: what connects) and
# lo-watch (AF_PACKET on lo: every connection attempt arriving there, on any
# port, in any protocol). The guest attacks with ordinary sockets (attack),
# hand-made frames (probe, scan) and DNS queries. Each phase checks only what
# arrived since the phase began (adv_mark / adv_new_hits), against a regular
# expression of what docs/security.md says may arrive.

ADV="$HERE/adversary.py"
TRIP=8099

# adv_watch_host: the tripwire on $TRIP and lo-watch, in the namespace this
# runs in (the host namespace netd runs in).
adv_watch_host() {
  : >"$T/trip"
  "$PY" "$ADV" tripwire "$TRIP" "$T/trip" &
  PIDS+=("$!")
  wait_listening "$TRIP" env
  : >"$T/lo"
  "$PY" "$ADV" lo-watch "$T/lo" &
  PIDS+=("$!")
  for ((i = 0; i < 50; i++)); do grep -q ready "$T/lo" && return 0; sleep 0.1; done
  fail "lo-watch did not start"
}

# adv_mark: remember how far the watch files are; adv_new_hits prints what
# arrived since then at the host's loopback (127.0.0.0/8, ::1, v4-mapped
# loopback; lo-watch lines "PROTO SRC DST PORT") and at the tripwire.
adv_mark() {
  sleep 0.5  # what the previous phase sent has arrived
  LO_MARK=$(wc -l <"$T/lo")
  TRIP_MARK=$(wc -l <"$T/trip")
}
adv_new_hits() {
  sleep 0.5
  tail -n +"$((LO_MARK + 1))" "$T/lo" | awk '$3 ~ /^127\./ || $3 == "::1" || $3 ~ /^::ffff:127\./'
  tail -n +"$((TRIP_MARK + 1))" "$T/trip" | sed 's/^/tripwire /'
}

# What a relayed DNS query shows on lo: netd's query to a resolver on
# 127.0.0.53 port 53 (UDP or a TCP SYN) and the resolver's UDP answer.
ADV_RESOLVER_OK='^(udp|tcp) 127\.0\.0\.1 127\.0\.0\.53 53$|^udp 127\.0\.0\.53 127\.0\.0\.1 [0-9]+$'

# adv_expect_quiet WHAT [ALLOWED-REGEX]: nothing arrived at the host's
# loopback since adv_mark but lines matching ALLOWED-REGEX.
adv_expect_quiet() {
  local hits
  hits=$(adv_new_hits)
  [[ -n "${2:-}" ]] && hits=$(grep_or_none -Ev -- "$2" <<<"$hits")
  [[ -z "$hits" ]] || fail "$1: the host's loopback was reached: $(tr '\n' ';' <<<"$hits")"
}

# adv_attack RUNNER ADDR...: ordinary sockets from the guest (RUNNER is the
# command prefix that enters it, e.g. in_ctr) to each ADDR: TCP and UDP to
# $TRIP and an ICMP echo. The results ("ADDR tcp|udp|icmp RESULT") go to
# $T/attack and are echoed to the log.
adv_attack() {
  local runner=$1
  shift
  $runner "$PY" "$ADV" attack "$TRIP" "$@" >"$T/attack" 2>&1 || fail "attack failed: $(cat "$T/attack")"
  sed 's/^/  attempt: /' "$T/attack" >&2
}
# adv_expect_refused ALLOWED-REGEX: every attempt in $T/attack failed
# (refused, unreachable, timeout), except lines matching ALLOWED-REGEX.
adv_expect_refused() {
  local got
  got=$(grep_or_none -E " (connected|reply)$" "$T/attack" | grep_or_none -Ev -- "$1")
  [[ -z "$got" ]] || fail "the guest got through: $(tr '\n' ';' <<<"$got")"
}
# adv_expect_result LINE: $T/attack has exactly this line (an expected refusal
# or an answer that docs/security.md grants).
adv_expect_result() {
  grep -qxF -- "$1" "$T/attack" || fail "expected '$1' in: $(tr '\n' ';' <<<"$(cat "$T/attack")")"
}

# adv_probe RUNNER IFNAME GWMAC PORT ALLOWED-REGEX ADDR...: hand-made TCP SYN,
# UDP and ICMP echo frames; any reply but ALLOWED-REGEX fails.
adv_probe() {
  local runner=$1 ifname=$2 gwmac=$3 port=$4 allowed=$5 out
  shift 5
  out=$($runner "$PY" "$ADV" probe "$ifname" "$gwmac" "$port" "$@") || fail "probe failed: $out"
  out=$(grep_or_none -Ev -- "$allowed" <<<"$out")
  [[ -z "$out" ]] || fail "hand-made frames got answers: $(tr '\n' ';' <<<"$out")"
}

# adv_scan RUNNER IFNAME GWMAC PROTO ADDR: a hand-made SYN or datagram to
# every port 1-65535 of ADDR.
adv_scan() {
  local out
  out=$($1 "$PY" "$ADV" scan "$2" "$3" "$4" "$5" 1 65535) || fail "scan failed: $out"
  [[ "$out" == "sent 65535" ]] || fail "scan of $5 ($4): $out"
}

# adv_dns_expect RUNNER SERVER ANSWER [DIG-ARGS...]: dig's short answer for
# adv-N.test A (a new N each time: no cache answers for the upstream) at
# SERVER is ANSWER.
ADV_DNS_N=0
adv_dns_expect() {
  local runner=$1 server=$2 want=$3 got rc=0
  shift 3
  ADV_DNS_N=$((ADV_DNS_N + 1))
  got=$(adv_dig "$runner" "$server" "$ADV_DNS_N" "$@") || rc=$?
  [[ $rc -eq 0 && "$got" == "$want" ]] || fail "DNS at $server $*: exit $rc, got '$got', expected '$want'"
}
# adv_dig RUNNER SERVER N [DIG-ARGS...]: the query of both helpers (one try,
# 2 s) for adv-N.test A; dig's short answer and its exit status.
adv_dig() {
  local runner=$1 server=$2 n=$3
  shift 3
  $runner dig +short +tries=1 +time=2 "$@" @"$server" "adv-$n.test" A 2>/dev/null
}

# adv_dns_silent RUNNER SERVER...: a query (as adv_dns_expect's) over UDP
# and one over TCP to each SERVER, all at once (each unanswered one waits out
# its 2 s): no server may answer at all (dig fails: not even a SERVFAIL or
# NXDOMAIN came back).
adv_dns_silent() {
  local runner=$1 server proto i=0 pids=() f rc got line
  shift
  for server in "$@"; do
    for proto in +notcp +tcp; do
      ADV_DNS_N=$((ADV_DNS_N + 1))
      i=$((i + 1))
      (
        rc=0
        got=$(adv_dig "$runner" "$server" "$ADV_DNS_N" "$proto") || rc=$?
        printf '%s %s %s %s\n' "$rc" "$server" "$proto" "$got"
      ) >"$T/dns-silent.$i" &
      pids+=($!)
    done
  done
  for f in "${pids[@]}"; do wait "$f"; done
  for ((f = 1; f <= i; f++)); do
    line=$(<"$T/dns-silent.$f")
    [[ -n "$line" ]] || fail "DNS attempt $f left no result"
    read -r rc server proto got <<<"$line"
    ((rc != 0)) || fail "DNS at $server $proto: something answered: '$got'"
  done
  rm -f "$T"/dns-silent.*
}

# adv_unix_isolated RUNNER: an abstract UNIX socket of the host namespace
# (as a D-Bus or X11 one would be) is not reachable from the guest's network
# namespace, and netd holds no abstract UNIX socket of its own.
adv_unix_isolated() {
  local name out
  name="netd-adversary-$$"
  : >"$T/unix"
  "$PY" "$ADV" unix-tripwire "$name" "$T/unix" &
  PIDS+=("$!")
  for ((i = 0; i < 50; i++)); do grep -q "@$name" /proc/net/unix && break; sleep 0.1; done
  out=$("$PY" "$ADV" unix-connect "$name")
  [[ "$out" == connected ]] || fail "the host namespace itself cannot reach @$name: $out"
  out=$($1 "$PY" "$ADV" unix-connect "$name")
  [[ "$out" == error:ECONNREFUSED ]] || fail "the guest reached @$name: $out"
  [[ $(wc -l <"$T/unix") == 1 ]] || fail "the abstract socket saw $(wc -l <"$T/unix") connections, expected 1"
}
# adv_no_abstract_sockets PID MIN-UNIX: PID (netd) holds no abstract UNIX
# socket: of the UNIX sockets among its fds (at least MIN-UNIX, e.g. its API
# socket: so the listing is known to work), none is bound to an abstract
# name. Fails if PID's fds cannot be read.
adv_no_abstract_sockets() {
  local links inodes bound unix
  links=$(ls -l "/proc/$1/fd") || fail "cannot read the fds of pid $1"
  inodes=$(grep_or_none -o 'socket:\[[0-9]*\]' <<<"$links" | tr -dc '0-9\n' | sort -u)
  unix=0
  [[ -n "$inodes" ]] && unix=$(awk 'NR > 1 {print $7}' /proc/net/unix | grep_or_none -cxFf <(echo "$inodes"))
  ((unix >= $2)) || fail "pid $1 holds $unix UNIX socket(s) in /proc/net/unix, expected at least $2 (fds: $links)"
  bound=""
  [[ -n "$inodes" ]] && bound=$(awk 'NR > 1 && $8 ~ /^@/ {print $7, $8}' /proc/net/unix | grep_or_none -wFf <(echo "$inodes"))
  [[ -z "$bound" ]] || fail "pid $1 holds abstract UNIX sockets: $bound"
  ADV_UNIX_SOCKETS=$unix
}
