#!/usr/bin/env python3
"""Writes the seed corpora of the router-card fuzz targets:
test/fuzz/corpus/ndp/ and test/fuzz/corpus/dhcpv6/.

The packets are the captures in test/unit/routercard_vectors.hpp and
test/unit/packet_vectors.hpp (see their provenance notes), read from those
headers so there is one copy of each, plus a few damaged variants. Rerun
after changing a target's input format; the files are committed so fuzzing
needs no python.
"""
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
UNIT = os.path.join(HERE, "..", "unit")


def vectors(header):
    """name -> bytes for every `inline constexpr const char* kName = "..";`."""
    text = open(os.path.join(UNIT, header)).read()
    out = {}
    for m in re.finditer(r'const char\* (k\w+) =\s*((?:"[^"]*"\s*)+);', text):
        hexstr = "".join(re.findall(r'"([^"]*)"', m.group(2)))
        out[m.group(1)] = bytes.fromhex(hexstr.replace(" ", ""))
    return out


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    rc = vectors("routercard_vectors.hpp")
    pv = vectors("packet_vectors.hpp")
    # ndp: flags byte (bit 0 fix length, bit 1 hop limit 255, bit 2 fix
    # checksum) + IPv6 packet.
    nd = {"rs": pv["kRouterSolicitation"], "ns": rc["kNsForRouter"], "dad_ns": rc["kDadNs"],
          "na": rc["kNaFromKernel"], "dad_na": rc["kDadNaFromKernel"],
          "ra_routes": rc["kRaRadvdRoutes"], "ra_default": rc["kRaRadvdDefault"]}
    for name, pkt in nd.items():
        write("ndp", name, b"\0" + pkt)
    ns = bytearray(rc["kNsForRouter"])
    ns[40 + 25] = 0  # option length 0
    write("ndp", "ns_option_len0", b"\7" + bytes(ns))
    write("ndp", "rs_hop_limit_64", b"\5" + pv["kRouterSolicitation"][:7] + b"\x40" +
          pv["kRouterSolicitation"][8:])
    write("ndp", "ra_cut", b"\7" + rc["kRaRadvdDefault"][:-3])
    # dhcpv6: the UDP payload only.
    for name in ["kDhcpcdSolicit", "kDhcpcdRequest", "kDhcpcdConfirm", "kDhcpcdRenew",
                 "kDhcpcdRebind", "kDhcpcdRelease", "kDhcpcdSolicitRapid", "kOurAdvertise",
                 "kOurReplyToConfirm"]:
        snake = re.sub(r"(?<!^)([A-Z])", r"_\1", name[1:]).lower()  # kOurAdvertise -> our_advertise
        write("dhcpv6", snake, rc[name][48:])
    write("dhcpv6", "information_request", bytes.fromhex("0b123456"))
    write("dhcpv6", "ia_na_short",
          bytes.fromhex("01123456" "0001000a00030001020000000001" "0003000b0000000100000000000000"))


if __name__ == "__main__":
    main()
