// Real packets shared by the proto, framing and filter unit tests.
//
// Provenance: unless noted, captured from a Linux 6.x kernel in a scratch
// network namespace: a TUN device (IFF_TUN | IFF_NO_PI) "tcap0" with
// fd00:1::5/64 and 10.9.0.1/24, read with os.read() in python3 while running
// the command given. Checksums are the kernel's own; each was re-verified
// with an independent python3 struct-based RFC 1071 sum (result 0).
#pragma once

namespace vec {

// ping -6 -c1 -s 11 -p 41424344 fd00:1::9 (auto flow label 0x05133 left in):
// echo request id 0x0f65 seq 1, 11 data bytes -> odd-length ICMPv6 (19).
inline constexpr const char* kEchoOdd = "60 05 13 33 00 13 3a 40"
                                        "fd00 0001 0000 0000 0000 0000 0000 0005"
                                        "fd00 0001 0000 0000 0000 0000 0000 0009"
                                        "80 00 5985 0f65 0001 41424344 00000000 432e55";

// Same packet with net.ipv6.auto_flowlabels=0: the bytes build_echo_request
// must produce (the flow label is not in the checksum).
inline constexpr const char* kEchoOddNoFlow = "60 00 00 00 00 13 3a 40"
                                              "fd00 0001 0000 0000 0000 0000 0000 0005"
                                              "fd00 0001 0000 0000 0000 0000 0000 0009"
                                              "80 00 5985 0f65 0001 41424344 00000000 432e55";

// ping -6 -c1 -s 0 fd00:1::9: echo request id 0x104a seq 1, no data.
inline constexpr const char* kEchoEmpty = "60 00 00 00 00 08 3a 40"
                                          "fd00 0001 0000 0000 0000 0000 0000 0005"
                                          "fd00 0001 0000 0000 0000 0000 0000 0009"
                                          "80 00 7560 104a 0001";

// ping -6 -c1 -s 16 -p 0102 fd00:1::9: id 0x104c seq 1, 16 data bytes
// (ping's timestamp).
inline constexpr const char* kEcho16 = "60 00 00 00 00 18 3a 40"
                                       "fd00 0001 0000 0000 0000 0000 0000 0005"
                                       "fd00 0001 0000 0000 0000 0000 0000 0009"
                                       "80 00 9fb7 104c 0001"
                                       "8b67026b 00000000 3ec40900 00000000";

// Router solicitation the kernel sent when tcap0 came up:
// fe80::929a:2179:1393:b3a -> ff02::2, hop limit 255, no options.
inline constexpr const char* kRouterSolicitation = "60 00 00 00 00 08 3a ff"
                                                   "fe80 0000 0000 0000 929a 2179 1393 0b3a"
                                                   "ff02 0000 0000 0000 0000 0000 0000 0002"
                                                   "85 00 aa56 00000000";

// python3: socket(AF_INET6, SOCK_DGRAM) bound to [fd00:1::5]:5353,
// sendto(b"hello", ("fd00:1::9", 53)).
inline constexpr const char* kUdpHello = "60 00 00 00 00 0d 11 40"
                                         "fd00 0001 0000 0000 0000 0000 0000 0005"
                                         "fd00 0001 0000 0000 0000 0000 0000 0009"
                                         "14e9 0035 000d acd2 68656c6c6f";

// ping -4 -c1 -s 12 -p 41 10.9.0.2: IPv4 ICMP echo, 40 bytes, DF set.
inline constexpr const char* kIpv4Echo = "45 00 0028 54d1 4000 40 01 d1ef"
                                         "0a090001 0a090002"
                                         "08 00 6029 104e 0001 414141414141414141414141";

// Crafted in python3 (struct + RFC 1071 sum) and written into the TUN:
// echo request fd00:1::9 -> fd00:1::5, id 0xbeef seq 7, data "xyz".
inline constexpr const char* kEchoToSelf = "60 00 00 00 00 0b 3a 40"
                                           "fd00 0001 0000 0000 0000 0000 0000 0009"
                                           "fd00 0001 0000 0000 0000 0000 0000 0005"
                                           "80 00 d437 beef 0007 78797a";

// The kernel's echo reply to kEchoToSelf, read back from the TUN: the bytes
// build_echo_reply must produce.
inline constexpr const char* kEchoReplyFromKernel = "60 00 00 00 00 0b 3a 40"
                                                    "fd00 0001 0000 0000 0000 0000 0000 0005"
                                                    "fd00 0001 0000 0000 0000 0000 0000 0009"
                                                    "81 00 d337 beef 0007 78797a";

// Crafted in python3: a 4-byte ICMPv6 message of type 200 (RFC 4443 §2.1,
// private experimentation) fd00:1::9 -> fd00:1::5, correct checksum.
inline constexpr const char* kIcmpv6Minimal = "60 00 00 00 00 04 3a 40"
                                              "fd00 0001 0000 0000 0000 0000 0000 0009"
                                              "fd00 0001 0000 0000 0000 0000 0000 0005"
                                              "c8 00 3daf";

} // namespace vec
