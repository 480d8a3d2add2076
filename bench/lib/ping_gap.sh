# shellcheck shell=bash
# ping_gap.sh: the outage in a `ping -D` log, for the failover benchmarks
# (failover.sh, bgp_failover.sh): a pinger runs every 10 ms across the
# moment T0 (epoch seconds) something fails, and the outage ends with the
# first reply after the last gap in the sequence numbers. The last gap, not
# the first: a ping in flight when the link went down may be lost while the
# old connection still carries a few more before enftun moves.

# gap_after LOG T0: "TS COUNT" where TS is the stamp (epoch seconds) of the
# first echo reply after the last gap in the sequence numbers among the
# replies stamped after T0, and COUNT the replies since (itself included);
# nothing when there is no such gap.
gap_after() {
    awk -v t0="$2" '
        BEGIN { prev = -1 }
        match($0, /icmp_seq=[0-9]+/) && $1 ~ /^\[[0-9.]+\]$/ {
            ts = substr($1, 2, length($1) - 2) + 0
            seq = substr($0, RSTART + 9, RLENGTH - 9) + 0
            if (ts > t0 && prev >= 0 && seq > prev + 1) { start = ts; count = 0 }
            if (start != "") count++
            prev = seq
        }
        END { if (start != "") printf "%.6f %d\n", start, count }' "$1"
}

# gap_settled LOG T0: the new path has answered 20 pings in a row (200 ms).
gap_settled() {
    local count
    count="$(gap_after "$1" "$2" | awk '{ print $2 }')"
    [[ -n $count ]] && ((count >= 20))
}

# gap_ms LOG T0: ms from T0 to the first reply after the outage.
gap_ms() {
    local t1
    t1="$(gap_after "$1" "$2" | awk '{ print $1 }')"
    awk -v a="$2" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) * 1000 }'
}
