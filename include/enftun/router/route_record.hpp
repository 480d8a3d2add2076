// RouteRecord: which session routes an enftun-router is putting into the
// kernel (network namespace, gateway TUN, table, protocol), kept in a small
// file (router.tun.route_record, in the runtime folder /run/enftun-router)
// while it runs. A start removes the stale routes of its configured table
// and protocol (session_routes.hpp); after a crash (kill -9) and a change of
// router.tun.route_table or route_protocol those are elsewhere, and only
// this record says where.
//
// What a start may delete with it, and why that is only the router's own:
// routes of the recorded table and protocol whose interface is the recorded
// ifindex, when that interface still has the recorded name and the record
// was written in this boot (/proc/sys/kernel/random/boot_id) and in this
// network namespace (its device and inode). The default folder is a tmpfs
// anyway: a reboot, which takes every route away, takes the record too.
// A clean stop removes the record with the routes. A record that does not
// parse deletes nothing.
//
//   start  ─► read the record: another table/protocol ─► remove_on() those
//          ─► write ours (fs/atomic_file.hpp: temp file, fsync, rename)
//   stop   ─► our routes removed ─► the record removed
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace enftun::router {

struct RouteRecord {
    std::string boot_id;         // /proc/sys/kernel/random/boot_id
    std::uint64_t netns_dev = 0; // stat() of /proc/self/ns/net
    std::uint64_t netns_ino = 0;
    unsigned ifindex = 0; // the gateway TUN
    std::string ifname;   // its name then (IFNAMSIZ - 1 bytes at most)
    std::uint32_t table = 0;
    std::uint8_t protocol = 0;
    bool operator==(const RouteRecord&) const = default;
};

// One line: "enftun-router routes v1 boot ID netns DEV:INO dev IFINDEX NAME
// table T protocol P\n". Pure.
std::string format_route_record(const RouteRecord& r);
// nullopt for anything but exactly that line (a version of another format,
// a truncated write, a value out of range). Pure.
std::optional<RouteRecord> parse_route_record(std::string_view text);

// The record for routes of table/protocol through ifindex in our network
// namespace. nullopt when the namespace or the interface's name cannot be
// read (errno kept).
std::optional<RouteRecord> route_record_here(unsigned ifindex, std::uint32_t table,
                                             std::uint8_t protocol);

// Whether routes the record names may be ours to delete now: written in
// this boot and network namespace, and its interface still carries its name.
bool record_is_ours_here(const RouteRecord& r);

} // namespace enftun::router
