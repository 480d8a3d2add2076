// The way into every main of ours (enftun, enftun-router, enftun-enroll):
// hardening the process before anything else, and the options each of
// them takes alike (--version, --help) with the answer to an unknown one.
// Each program keeps its own usage text and its own options.
#pragma once

#include <cstdio>

namespace enftun::cli {

// No core dump (it would hold private keys and session keys) and no
// ptrace by other processes of our user (PR_SET_DUMPABLE 0). False, with a
// line on stderr, if prctl fails.
bool harden_process();

// A daemon's first steps: harden_process(); then `PROGRAM status ...` goes
// to status_main with argv from "status" on. Returns the exit status to
// leave with (1 when prctl fails; status_main's), or -1 to go on.
int start_daemon(int argc, char** argv, int (*status_main)(int argc, char** argv));

// The getopt cases every program shares, for a c its own switch does not
// take: 'V' (--version) prints "PROGRAM VERSION" and 'h' (--help) the usage
// on stdout, exit status 0; anything else the usage on stderr, exit status 2.
// Returns that exit status.
int finish_common_option(int c, const char* program, void (*usage)(FILE*));

} // namespace enftun::cli
