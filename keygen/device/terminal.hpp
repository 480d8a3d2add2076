// Talking to the person at the device: the confirmation prompt and the
// password, both on /dev/tty (so a pipe on stdin cannot answer for them),
// and the password file. Without a terminal there is no prompt: the
// caller must use --yes / --password-file, and is told so.
#pragma once

#include "common/failure.hpp"

#include <string>

namespace enftun::keygen {

// Asks "question [y/N] " on the terminal. Errors: no terminal ("use
// --yes"); false when the answer is not y/yes.
Outcome<bool> confirm(const std::string& question);

// A line read from the terminal with echo off (password) or on.
// Errors: no terminal, end of input, an empty answer.
Outcome<std::string> ask(const std::string& prompt, bool echo);

// The first line of a password file (at most 4 KiB, newline removed).
// Errors: unreadable, empty.
Outcome<std::string> read_password_file(const std::string& path);

// Overwrites a secret in place before it is freed.
void wipe(std::string& secret);

} // namespace enftun::keygen
