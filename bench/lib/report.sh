# shellcheck shell=bash
# report.sh: turns the figures compare.sh recorded ($BENCH_TSV lines "tool
# metric run value") into JSON (median, min, max per tool and metric, plus
# the advantage of enftun at its defaults, and of enftun with busy-polling on
# (enftun_spin), over OpenVPN and wireguard-go) and a text table.
#
# Advantage: how many times better enftun's median is, so that > 1 always
# means "enftun ahead": other/enftun for lower-is-better figures (RTT, CPU,
# RSS, start time), enftun/other for higher-is-better ones (throughput,
# flood-ping rate).

# Metric key | label | unit | better (high/low)
readonly BENCH_METRICS="up_mbps|throughput client -> server|Mbit/s|high
down_mbps|throughput server -> client|Mbit/s|high
rtt_ms|ping RTT (200 x 10 ms)|ms|low
flood_pps|flood ping (ping -f -c 5000)|replies/s|high
client_cpu_us_per_rt|client CPU per flood-ping round trip|us|low
server_cpu_us_per_rt|server CPU per flood-ping round trip|us|low
client_cpu_pct_1k_exchanges|client CPU at 1000 pings a second|% of a core|low
server_cpu_pct_1k_exchanges|server CPU at 1000 pings a second|% of a core|low
client_cpu_s_per_gb|client CPU per GB moved|s/GB|low
server_cpu_s_per_gb|server CPU per GB moved|s/GB|low
client_cpu_s_per_gb_up|client CPU per GB, client -> server (client sends)|s/GB|low
server_cpu_s_per_gb_up|server CPU per GB, client -> server (server receives)|s/GB|low
client_cpu_s_per_gb_down|client CPU per GB, server -> client (client receives)|s/GB|low
server_cpu_s_per_gb_down|server CPU per GB, server -> client (server sends)|s/GB|low
client_cpu_s|client CPU, both iperf3 runs|s|low
server_cpu_s|server CPU, both iperf3 runs|s|low
client_rss_startup_kib|client RSS peak, start-up|KiB|low
client_rss_idle_kib|client RSS idle|KiB|low
client_rss_peak_kib|client RSS peak under load|KiB|low
client_rss_quiet_kib|client RSS idle again after the load|KiB|low
server_rss_startup_kib|server RSS peak, start-up|KiB|low
server_rss_idle_kib|server RSS idle|KiB|low
server_rss_peak_kib|server RSS peak under load|KiB|low
server_rss_quiet_kib|server RSS idle again after the load|KiB|low
client_pss_idle_kib|client Pss idle|KiB|low
client_pss_peak_kib|client Pss right after the load|KiB|low
client_pss_quiet_kib|client Pss idle again after the load|KiB|low
client_private_idle_kib|client private (Private_Clean + Private_Dirty) idle|KiB|low
client_private_peak_kib|client private right after the load|KiB|low
client_private_quiet_kib|client private idle again after the load|KiB|low
server_pss_idle_kib|server Pss idle|KiB|low
server_pss_peak_kib|server Pss right after the load|KiB|low
server_pss_quiet_kib|server Pss idle again after the load|KiB|low
server_private_idle_kib|server private (Private_Clean + Private_Dirty) idle|KiB|low
server_private_peak_kib|server private right after the load|KiB|low
server_private_quiet_kib|server private idle again after the load|KiB|low
first_ping_ms|start to first answered ping|ms|low"

# bench_json TSV META_JSON: the JSON document on stdout.
bench_json() {
    jq -R -s --argjson meta "$2" --arg metrics "$BENCH_METRICS" '
        def median: sort | if length % 2 == 1 then .[length / 2 | floor]
                           else (.[length / 2 - 1] + .[length / 2]) / 2 end;
        ($metrics | split("\n") | map(split("|") | {key: .[0], label: .[1],
            unit: .[2], better: .[3]})) as $defs
        | (split("\n") | map(select(length > 0) | split("\t")
            | {tool: .[0], metric: .[1], run: (.[2] | tonumber), value: (.[3] | tonumber)}))
          as $rows
        | ($rows | group_by(.tool) | map({key: .[0].tool, value:
            (group_by(.metric) | map({key: .[0].metric, value: (map(.value) as $v
                | {median: ($v | median), min: ($v | min), max: ($v | max), runs: $v})})
             | from_entries)}) | from_entries) as $results
        | def adv($ours; $other): [$defs[] | . as $d
            | ($results[$ours][$d.key].median) as $e | ($results[$other][$d.key].median) as $o
            | select($e != null and $o != null and $e > 0 and $o > 0)
            | {key: $d.key, value: (if $d.better == "high" then $e / $o else $o / $e end)}]
            | from_entries;
        {meta: $meta, metrics: $defs, results: $results,
         advantage: {vs_v1: adv("enftun"; "enftun_v1"),
                     vs_openvpn: adv("enftun"; "openvpn"),
                     vs_wireguard_go: adv("enftun"; "wireguard"),
                     spin_vs_openvpn: adv("enftun_spin"; "openvpn"),
                     spin_vs_wireguard_go: adv("enftun_spin"; "wireguard")}}' "$1"
}

# bench_table JSON_FILE: the table: "median (min-max)" per tool, then the
# advantage columns.
bench_table() {
    jq -r '
        def num: if . == null then "-" elif . >= 100 then (. * 10 | round / 10 | tostring)
                 else (. * 1000 | round / 1000 | tostring) end;
        def cell($t; $k): .results[$t][$k] as $c
            | if $c == null then "-" else "\($c.median | num) (\($c.min | num)-\($c.max | num))" end;
        def adv($w; $k): .advantage[$w][$k] | if . == null then "-"
                         else "\(. * 100 | round / 100)x" end;
        . as $doc
        | ["measure", "unit", "veth (no tunnel)", "enftun", "enftun protocol 1", "enftun spinning",
           "OpenVPN-TCP", "wireguard-go", "enftun vs protocol 1", "enftun vs OpenVPN",
           "enftun vs wg-go", "spinning vs OpenVPN", "spinning vs wg-go"],
          (.metrics[] | . as $m
            | [$m.label, $m.unit, ($doc | cell("bare"; $m.key)), ($doc | cell("enftun"; $m.key)),
               ($doc | cell("enftun_v1"; $m.key)), ($doc | cell("enftun_spin"; $m.key)),
               ($doc | cell("openvpn"; $m.key)), ($doc | cell("wireguard"; $m.key)),
               ($doc | adv("vs_v1"; $m.key)), ($doc | adv("vs_openvpn"; $m.key)),
               ($doc | adv("vs_wireguard_go"; $m.key)), ($doc | adv("spin_vs_openvpn"; $m.key)),
               ($doc | adv("spin_vs_wireguard_go"; $m.key))])
        | @tsv' "$1" | column -t -s $'\t'
}
