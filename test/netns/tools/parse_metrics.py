#!/usr/bin/python3
"""parse_metrics.py FILE: parse FILE (OpenMetrics text, enftun's `metrics`
answer or metrics file) with python3-prometheus-client's two parsers: the
OpenMetrics one (strict: # EOF, counter _total suffixes, escaping) and the
Prometheus text one (what node_exporter's textfile collector reads). Prints
the number of samples; exits 1 with the parser's error on a bad text, 77 when
prometheus_client is not installed."""
import sys

try:
    from prometheus_client.openmetrics import parser as om
    from prometheus_client import parser as prom
except ImportError:
    sys.exit(77)

text = open(sys.argv[1], encoding="utf-8").read()
try:
    families = list(om.text_string_to_metric_families(text))
    samples = sum(len(f.samples) for f in families)
    list(prom.text_string_to_metric_families(text))
except Exception as e:  # the parsers raise ValueError and friends
    print(f"{sys.argv[1]}: {type(e).__name__}: {e}")
    sys.exit(1)
print(samples)
